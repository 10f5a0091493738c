/**
 * The addon's source stamp (scripts/source-hash.mjs, compiled in by binding.gyp): the committed
 * prebuild must match the sources, or `npm run prebuild` was forgotten (TOOLCHAIN.md: a stale
 * prebuild is a trap). Also checks the loaded addon agrees with src/core on codes and constants.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AEAD_JOB_STRIDE,
  AEAD_MAX_COUNTER,
  AEAD_NONCE_BYTES,
  AEAD_NONCE_PREFIX_BYTES,
  AEAD_TAG_BYTES,
  CHUNK_UNIT_STRIDE,
  ErrorCode,
  FRAME_PREFIX_BYTES,
  FRAME_UNIT_STRIDE,
  JOINT_UNIT_STRIDE,
  MAX_CHUNK_BYTES_LIMIT,
  RING_ENTRY_STRIDE,
  UnitFlag,
} from '../../src/core/index.js';
import { addon, PACKAGE_ROOT, sourceHashOf } from '../../src/core/load.js';
import { VARINT_MAX_BYTES, VARINT_MIN_BYTES } from '../../src/core/varint.js';

const require = createRequire(import.meta.url);
const PREBUILDS = join(PACKAGE_ROOT, 'prebuilds', `${process.platform}-${process.arch}`);

function scriptHash(root: string): string {
  return execFileSync(process.execPath, [join(PACKAGE_ROOT, 'scripts', 'source-hash.mjs'), root], { encoding: 'utf8' }).trim();
}

describe('source stamp', () => {
  it('the loader (which imports scripts/source-hash.mjs) and the script run as binding.gyp runs it give the same stamp', () => {
    const stamp = sourceHashOf(PACKAGE_ROOT);
    expect(stamp).toMatch(/^[0-9a-f]{16}$/);
    expect(scriptHash(PACKAGE_ROOT)).toBe(stamp);
  });

  it('is null for a root without addon sources (nothing to compare with)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gamewire-stamp-'));
    try {
      expect(sourceHashOf(dir)).toBeNull();
      copyFileSync(join(PACKAGE_ROOT, 'binding.gyp'), join(dir, 'binding.gyp'));
      expect(sourceHashOf(dir)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('changes when any addon source changes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gamewire-stamp-'));
    try {
      copyFileSync(join(PACKAGE_ROOT, 'binding.gyp'), join(dir, 'binding.gyp'));
      cpSync(join(PACKAGE_ROOT, 'native'), join(dir, 'native'), { recursive: true });
      const original = sourceHashOf(dir);
      expect(original).toBe(sourceHashOf(PACKAGE_ROOT));
      writeFileSync(join(dir, 'native', 'zz-new.h'), '// new file\n');
      const added = sourceHashOf(dir);
      expect(added).not.toBe(original);
      writeFileSync(join(dir, 'binding.gyp'), '{}');
      expect(sourceHashOf(dir)).not.toBe(added);
      expect(scriptHash(dir)).toBe(sourceHashOf(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(process.platform === 'linux' && process.arch === 'x64')('the committed linux-x64 prebuild matches the sources (else: npm run prebuild)', () => {
    expect(existsSync(PREBUILDS)).toBe(true);
    const files = readdirSync(PREBUILDS).filter((f) => f.endsWith('.node'));
    expect(files.length).toBeGreaterThan(0);
    const expected = sourceHashOf(PACKAGE_ROOT);
    for (const file of files) {
      const stamp = (require(join(PREBUILDS, file)) as { sourceHash: string }).sourceHash;
      expect(stamp, `${file} is stale: run npm run prebuild`).toBe(expected);
    }
  });
});

describe('install step (scripts/build-addon.mjs)', () => {
  function install(env: Record<string, string>): { status: number | null; lines: string[] } {
    const r = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'scripts', 'build-addon.mjs')], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 15_000,
    });
    return { status: r.status, lines: `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.length > 0) };
  }

  it.runIf(process.platform === 'linux' && process.arch === 'x64')('uses a prebuild whose stamp matches, without compiling', () => {
    const r = install({ GAMEWIRE_BUILD_FROM_SOURCE: '' });
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([expect.stringMatching(/^gamewire: using the prebuilt addon prebuilds\/linux-x64\/gamewire\.node/)]);
  });

  it('never fails the install: without a compiler it prints one line and exits 0', () => {
    const r = install({ GAMEWIRE_BUILD_FROM_SOURCE: '1', CXX: join(PACKAGE_ROOT, 'no-such-compiler') });
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([expect.stringMatching(/^gamewire: no C\+\+ compiler .*TypeScript fallback$/)]);
  });
});

describe.runIf(addon !== null)('the loaded addon agrees with src/core', () => {
  it('has the stamp of the sources', () => {
    expect(addon!.sourceHash).toBe(sourceHashOf(PACKAGE_ROOT));
  });

  it('has the same status codes as ErrorCode (native/common.h vs errors.ts)', () => {
    expect({ ...addon!.statusCodes }).toEqual({ ...ErrorCode });
  });

  it('has the same strides, flags and format facts', () => {
    expect({ ...addon!.constants }).toEqual({
      META_SLOTS: 3,
      JOINT_UNIT_STRIDE,
      FRAME_UNIT_STRIDE,
      CHUNK_UNIT_STRIDE,
      AEAD_JOB_STRIDE,
      RING_ENTRY_STRIDE,
      FRAME_PREFIX_BYTES,
      AEAD_TAG_BYTES,
      AEAD_NONCE_BYTES,
      AEAD_NONCE_PREFIX_BYTES,
      AEAD_MAX_COUNTER,
      MAX_CHUNK_BYTES_LIMIT,
      VARINT_MIN_BYTES,
      VARINT_MAX_BYTES,
      JOINT_MAX_PAYLOAD_BYTES: 255,
      FLAG_FRAME_START: UnitFlag.FrameStart,
      FLAG_FRAME_END: UnitFlag.FrameEnd,
      FLAG_IN_CARRY: UnitFlag.InCarry,
    });
  });
});
