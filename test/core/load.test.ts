/**
 * The loader (src/core/load.ts), each case in a child process because the addon is chosen once
 * per process: GAMEWIRE_NATIVE=0 / 1 / unset, the `implementation` export, the single debug
 * line when the addon is missing, and refusing a stale addon.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, PREFERRED, sourceHashOf, type Component } from '../../src/core/load.js';

const CORE = join(PACKAGE_ROOT, 'src', 'core', 'index.ts');

interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
  report?: {
    implementation: string;
    file: string | null;
    perComponent: Record<string, string>;
    native: boolean;
    error: string | null;
  };
}

/** Import src/core in a fresh node with `env`, create each component twice, report what ran. */
function runChild(env: Record<string, string | undefined>): Promise<ChildResult> {
  const script = `
    const core = await import(${JSON.stringify(CORE)});
    for (let i = 0; i < 2; i++) {
      core.createJointParser({ direction: 0 });
      core.createFrameDecoder();
      core.createChunkAssembler();
      core.createAead(new Uint8Array(16), new Uint8Array(4));
      core.createEventRing({ arenaBytes: 1024 });
    }
    const perComponent = {};
    for (const c of Object.keys(core.PREFERRED)) perComponent[c] = core.implementationOf(c);
    const { addonFile } = await import(${JSON.stringify(join(PACKAGE_ROOT, 'src', 'core', 'load.ts'))});
    process.stdout.write(JSON.stringify({
      implementation: core.implementation,
      file: addonFile() ?? null,
      perComponent,
      native: core.nativeFactories !== null,
      error: core.addonLoadError()?.message ?? null,
    }));
  `;
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, DEBUG: undefined, NODE_DEBUG: undefined, GAMEWIRE_NATIVE: undefined, GAMEWIRE_PREBUILD: undefined, ...env })) {
    if (v !== undefined) childEnv[k] = v;
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { env: childEnv, cwd: PACKAGE_ROOT, timeout: 15_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        let report: ChildResult['report'];
        try {
          report = JSON.parse(stdout) as ChildResult['report'];
        } catch {
          report = undefined;
        }
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr, report });
      },
    );
  });
}

let addonPath: string | null = null;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'gamewire-load-'));
  const probe = await runChild({});
  addonPath = probe.report?.file ?? null;
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** A package-like directory: sources copied (optionally changed), addon copies placed as asked. */
function fakeRoot(name: string, opts: { changeSource?: boolean; build?: Buffer; prebuild?: Buffer }): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'gamewire' }));
  copyFileSync(join(PACKAGE_ROOT, 'binding.gyp'), join(dir, 'binding.gyp'));
  cpSync(join(PACKAGE_ROOT, 'native'), join(dir, 'native'), { recursive: true });
  if (opts.changeSource) writeFileSync(join(dir, 'native', 'common.h'), `${readFileSync(join(dir, 'native', 'common.h'), 'utf8')}\n// changed\n`);
  if (opts.build) {
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    writeFileSync(join(dir, 'build', 'Release', 'gamewire.node'), opts.build);
  }
  if (opts.prebuild) {
    mkdirSync(join(dir, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true });
    writeFileSync(join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'gamewire.node'), opts.prebuild);
  }
  return dir;
}

/** A copy of the addon binary whose compiled-in stamp is replaced by zeros: a stale build. */
function staleCopy(binary: Buffer): Buffer {
  const stamp = sourceHashOf(PACKAGE_ROOT)!;
  const at = binary.indexOf(Buffer.from(stamp));
  expect(at).toBeGreaterThanOrEqual(0);
  const copy = Buffer.from(binary);
  copy.write('0'.repeat(stamp.length), at, 'latin1');
  return copy;
}

const COMPONENTS = Object.keys(PREFERRED) as Component[];

describe('loader', () => {
  it('GAMEWIRE_NATIVE=0 runs everything on the fallback, silently', async () => {
    const r = await runChild({ GAMEWIRE_NATIVE: '0', DEBUG: 'gamewire' });
    expect(r.code).toBe(0);
    expect(r.report).toMatchObject({ implementation: 'fallback', file: null, native: false });
    for (const c of COMPONENTS) expect(r.report!.perComponent[c]).toBe('fallback');
    expect(r.stderr).toBe('');
  });

  it('GAMEWIRE_NATIVE=1 runs every component on the addon', async (ctx) => {
    if (addonPath === null) ctx.skip();
    const r = await runChild({ GAMEWIRE_NATIVE: '1' });
    expect(r.code).toBe(0);
    expect(r.report).toMatchObject({ implementation: 'native', native: true });
    for (const c of COMPONENTS) expect(r.report!.perComponent[c]).toBe('native');
  });

  it('unset: the addon when it loads, each component as PREFERRED says', async (ctx) => {
    if (addonPath === null) ctx.skip();
    const r = await runChild({});
    expect(r.code).toBe(0);
    expect(r.report!.native).toBe(true);
    for (const c of COMPONENTS) expect(r.report!.perComponent[c]).toBe(PREFERRED[c]);
    const anyNative = COMPONENTS.some((c) => PREFERRED[c] === 'native');
    expect(r.report!.implementation).toBe(anyNative ? 'native' : 'fallback');
  });

  it('a missing addon: fallback, and one debug line however many components are made', async () => {
    const empty = join(scratch, 'empty');
    mkdirSync(empty, { recursive: true });
    const r = await runChild({ GAMEWIRE_PREBUILD: empty, DEBUG: 'gamewire' });
    expect(r.code).toBe(0);
    expect(r.report).toMatchObject({ implementation: 'fallback', file: null, native: false });
    const lines = r.stderr.split('\n').filter((l) => l.length > 0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^gamewire: addon not loaded, running on the TypeScript fallback \(.+\)$/);
  });

  it('a missing addon without DEBUG prints nothing', async () => {
    const empty = join(scratch, 'empty2');
    mkdirSync(empty, { recursive: true });
    const r = await runChild({ GAMEWIRE_PREBUILD: empty });
    expect(r.code).toBe(0);
    expect(r.report!.implementation).toBe('fallback');
    expect(r.stderr).toBe('');
  });

  it('a missing addon with GAMEWIRE_NATIVE=1 fails loudly', async () => {
    const empty = join(scratch, 'empty3');
    mkdirSync(empty, { recursive: true });
    const r = await runChild({ GAMEWIRE_PREBUILD: empty, GAMEWIRE_NATIVE: '1' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/GAMEWIRE_NATIVE=1 but the gamewire addon did not load/);
  });

  it('GAMEWIRE_NATIVE other than 0 or 1 is a RangeError', async () => {
    const r = await runChild({ GAMEWIRE_NATIVE: 'yes' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/RangeError: GAMEWIRE_NATIVE must be 0 or 1/);
  });

  it('refuses an addon whose stamp does not match its sources, and says why', async (ctx) => {
    if (addonPath === null) ctx.skip();
    const binary = readFileSync(addonPath!);
    const dir = fakeRoot('stale', { changeSource: true, build: binary, prebuild: binary });
    const r = await runChild({ GAMEWIRE_PREBUILD: dir, DEBUG: 'gamewire' });
    expect(r.report).toMatchObject({ implementation: 'fallback', native: false });
    expect(r.report!.error).toMatch(/stale/);
    expect(r.stderr).toMatch(/stale/);
    const loud = await runChild({ GAMEWIRE_PREBUILD: dir, GAMEWIRE_NATIVE: '1' });
    expect(loud.code).not.toBe(0);
    expect(loud.stderr).toMatch(/stale/);
  });

  it('skips a stale build/Release for a fresh prebuild', async (ctx) => {
    if (addonPath === null) ctx.skip();
    const binary = readFileSync(addonPath!);
    const dir = fakeRoot('stale-build', { build: staleCopy(binary), prebuild: binary });
    const r = await runChild({ GAMEWIRE_PREBUILD: dir, GAMEWIRE_NATIVE: '1' });
    expect(r.code).toBe(0);
    expect(r.report!.file).toBe(join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'gamewire.node'));
  });
});
