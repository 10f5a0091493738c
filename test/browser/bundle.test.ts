import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { PeoteBytesOutput } from '../../src/peote/peote-bytes-output.js';
import { BUNDLE_DIR, HAS_CHROMIUM, CHROMIUM_SKIP_REASON, ROOT, ensureBrowserBundle, launchChromium, openHarness, serveBundleAndPages, type StaticServer } from './harness.js';

const BUILD_SCRIPT = join(ROOT, 'scripts', 'build-browser.mjs');

function build(entry: string, outfile: string): { ok: boolean; output: string } {
  try {
    const out = execFileSync(process.execPath, [BUILD_SCRIPT, '--entry', entry, '--outfile', outfile], { cwd: ROOT, stdio: 'pipe' });
    return { ok: true, output: out.toString() };
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    return { ok: false, output: `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}` };
  }
}

describe('scripts/build-browser.mjs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gamewire-browser-build-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds dist/browser/gamewire.js on demand (missing or older than src/)', () => {
    ensureBrowserBundle();
    expect(readFileSync(join(BUNDLE_DIR, 'gamewire.js'), 'utf8').length).toBeGreaterThan(10_000);
  });

  it('bundles gamewire/browser into an ES module that imports nothing', () => {
    const outfile = join(dir, 'gamewire.js');
    const result = build(join(ROOT, 'src', 'browser', 'index.ts'), outfile);
    expect(result.output).toMatch(/build-browser: .* KiB from \d+ modules/);
    expect(result.ok).toBe(true);
    const code = readFileSync(outfile, 'utf8');
    for (const name of ['PeoteServer', 'PeoteClient', 'PeoteBytesOutput', 'PeoteBytesInput', 'Reason', 'defineRemote', 'RpcTypes', 'Client', 'pollEvents', 'EventType']) {
      expect(code).toMatch(new RegExp(`^export \\{[^}]*\\b${name}\\b`, 'm'));
    }
    // A self-contained bundle: no import statements are left, so no node: built-in either.
    expect(code).not.toMatch(/^\s*import\s/m);
    expect(code).not.toMatch(/require\(["']node:/);
    expect(code).not.toContain('node-gyp-build');
  });

  it.each([
    ['a node: built-in', `import { randomBytes } from 'node:crypto'; export const r = randomBytes;`, 'Node built-in "node:crypto"'],
    ['a bare built-in', `import { readFileSync } from 'fs'; export const r = readFileSync;`, 'Node built-in "fs"'],
    ['a Node-only package', `import { WebSocket } from 'ws'; export const W = WebSocket;`, 'Node-only package "ws"'],
    ['the addon loader', `export * from '${join(ROOT, 'src', 'core', 'index.js')}';`, 'addon loader src/core/load.ts'],
  ])('fails when the entry pulls in %s', (_what, source, message) => {
    const entry = join(dir, `entry-${Math.random().toString(36).slice(2)}.ts`);
    writeFileSync(entry, source);
    const result = build(entry, join(dir, 'out.js'));
    expect(result.ok).toBe(false);
    expect(result.output).toContain(message);
  });
});

describe.skipIf(!HAS_CHROMIUM)(`the bundle in Chromium${CHROMIUM_SKIP_REASON}`, () => {
  let browser: Browser;
  let server: StaticServer;
  beforeAll(async () => {
    ensureBrowserBundle();
    [browser, server] = await Promise.all([launchChromium(), serveBundleAndPages()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads as a module and encodes PeoteBytes exactly as Node does', async () => {
    const { page, problems } = await openHarness(browser, server);
    const fromPage = await page.evaluate(() => {
      const gw = (window as any).gamewire;
      const out = new gw.PeoteBytesOutput();
      out.writeString('héllo ✓');
      out.writeInt32(-123456);
      out.writeDouble(Math.PI);
      out.writeUInt16(65535);
      const bytes: Uint8Array = out.getBytes();
      const input = new gw.PeoteBytesInput(bytes);
      return { bytes: Array.from(bytes), back: [input.readString(), input.readInt32(), input.readDouble(), input.readUInt16()], close: gw.Reason.toString(gw.Reason.CLOSE) };
    });
    const out = new PeoteBytesOutput();
    out.writeString('héllo ✓');
    out.writeInt32(-123456);
    out.writeDouble(Math.PI);
    out.writeUInt16(65535);
    expect(fromPage.bytes).toEqual(Array.from(out.getBytes()));
    expect(fromPage.back).toEqual(['héllo ✓', -123456, Math.PI, 65535]);
    expect(fromPage.close).toBe('CLOSE');
    expect(problems).toEqual([]);
    await page.close();
  });
});
