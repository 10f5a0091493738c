/**
 * The one loader of the addon (STYLE.md §6). It honours GAMEWIRE_NATIVE:
 *   0      every component on the TypeScript fallback;
 *   1      every component native, and a missing addon is an error;
 *   unset  the addon if it loads, each component on the implementation in PREFERRED.
 * An addon whose source stamp differs from the sources beside it (a stale prebuild) is refused.
 * With DEBUG or NODE_DEBUG containing `gamewire`, falling back prints one line to stderr.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
// The one source-hash algorithm: binding.gyp runs this script to compile the stamp in, and the
// package ships it (package.json "files"), so ../../ resolves from src/core and dist/core alike.
import { sourceHash } from '../../scripts/source-hash.mjs';
import type { Implementation } from './types.js';

/** The components with two implementations. */
export type Component = 'jointParser' | 'frameDecoder' | 'chunkAssembler' | 'aead' | 'eventRing';

/**
 * Which implementation serves each component when both are present and GAMEWIRE_NATIVE is unset.
 * Decided by `npm run bench -- core` (bench/results/core.json); the README's table explains it.
 */
export const PREFERRED: Readonly<Record<Component, Implementation>> = {
  // joint-parser-feed-{32B,256B,1400B}: native 2.0-2.6x on 64 KiB reads full of game-sized
  // frames; the fallback wins only on reads that carry one piece of a 32 KiB frame (0.1x).
  jointParser: 'native',
  // frame-decoder-feed-*: native 1.3-3.5x up to 1400 B frames (0.5x for 64 KiB frames).
  frameDecoder: 'native',
  // chunk-assembler-feed-*: native 1.0-2.8x up to 1400 B chunks (0.4x for 64 KiB chunks).
  chunkAssembler: 'native',
  // aead-seal-32B: native batch ~24x node:crypto per packet; the fallback is node:crypto.
  aead: 'native',
  // event-ring-push-poll-*: one crossing per pushed event makes native 0.2-0.4x; the styles
  // push one event at a time, so the JavaScript ring serves them.
  eventRing: 'fallback',
};

/** The addon's exports, as `native/addon.cc` defines them. */
export interface AddonExports {
  readonly sourceHash: string;
  readonly constants: Readonly<Record<string, number>>;
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly JointParser: new (...args: any[]) => any;
  readonly FrameDecoder: new (...args: any[]) => any;
  readonly ChunkAssembler: new (...args: any[]) => any;
  readonly Aead: new (...args: any[]) => any;
  readonly EventRing: new (...args: any[]) => any;
}

/** The package root: two levels above this file in both `src/core` and `dist/core`. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function readMode(): '0' | '1' | undefined {
  const raw = process.env.GAMEWIRE_NATIVE;
  if (raw === undefined || raw === '') return undefined;
  if (raw === '0' || raw === '1') return raw;
  throw new RangeError(`GAMEWIRE_NATIVE must be 0 or 1, got ${JSON.stringify(raw)}`);
}

/**
 * The stamp the addon built from the sources under `root` carries (scripts/source-hash.mjs,
 * the script binding.gyp compiles in). Null when `root` has no addon sources (nothing to
 * compare with).
 */
export function sourceHashOf(root: string): string | null {
  if (!existsSync(join(root, 'binding.gyp')) || !existsSync(join(root, 'native'))) return null;
  return sourceHash(root);
}

/** The parts of node-gyp-build the loader uses. */
interface GypBuild {
  resolve(dir: string): string;
  parseTuple(name: string): unknown;
  matchTuple(platform: string, arch: string): (tuple: unknown) => boolean;
  compareTuples(a: unknown, b: unknown): number;
  parseTags(file: string): { file: string } | undefined;
  matchTags(runtime: string, abi: string | undefined): (tags: unknown) => boolean;
  compareTags(runtime: string): (a: unknown, b: unknown) => number;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The prebuild node-gyp-build would pick in `dir`/prebuilds, found with its own matchers. Used
 * when the build it prefers (build/Release) is stale, so a fresh prebuild still serves.
 */
function prebuildIn(build: GypBuild, dir: string): string | undefined {
  const base = join(dir, 'prebuilds');
  const arch = process.env.npm_config_arch || process.arch;
  const platform = process.env.npm_config_platform || process.platform;
  const tuple = listDir(base)
    .map((name) => build.parseTuple(name))
    .filter(build.matchTuple(platform, arch))
    .sort(build.compareTuples)[0] as { name: string } | undefined;
  if (!tuple) return undefined;
  const folder = join(base, tuple.name);
  const winner = listDir(folder)
    .map((file) => build.parseTags(file))
    .filter(build.matchTags('node', process.versions.modules))
    .sort(build.compareTags('node'))[0];
  return winner ? join(folder, winner.file) : undefined;
}

let loadError: Error | undefined;
let loadedFile: string | undefined;

/**
 * Candidates in node-gyp-build's order (build/Release, then prebuilds/<platform>-<arch>), each
 * accepted only when its `sourceHash` matches the sources beside it: a stale prebuild or build
 * is refused and the next candidate tried. `GAMEWIRE_PREBUILD` (node-gyp-build's override)
 * moves the directory searched.
 */
function findAddon(require: NodeRequire): AddonExports {
  const build = require('node-gyp-build') as GypBuild;
  const dir = process.env.GAMEWIRE_PREBUILD || PACKAGE_ROOT;
  const expected = sourceHashOf(dir);
  const candidates: string[] = [];
  const reasons: string[] = [];
  try {
    candidates.push(build.resolve(PACKAGE_ROOT));
  } catch (err) {
    reasons.push((err as Error).message.split('\n')[0]!);
  }
  const prebuild = prebuildIn(build, dir);
  if (prebuild !== undefined && !candidates.includes(prebuild)) candidates.push(prebuild);
  for (const file of candidates) {
    const shown = relative(dir, file) || file;
    let exports: AddonExports;
    try {
      exports = require(file) as AddonExports;
    } catch (err) {
      reasons.push(`${shown}: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    if (expected !== null && exports.sourceHash !== expected) {
      reasons.push(`${shown} is stale (stamp ${exports.sourceHash}, sources ${expected}; run npm run prebuild or rebuild)`);
      continue;
    }
    loadedFile = file;
    return exports;
  }
  throw new Error(reasons.join('; ') || 'no gamewire addon found');
}

function loadAddon(): AddonExports | null {
  const mode = readMode();
  if (mode === '0') return null;
  try {
    return findAddon(createRequire(import.meta.url));
  } catch (err) {
    loadError = err as Error;
    if (mode === '1') {
      throw new Error(`GAMEWIRE_NATIVE=1 but the gamewire addon did not load: ${(err as Error).message}`);
    }
    const debug = `${process.env.DEBUG ?? ''},${process.env.NODE_DEBUG ?? ''}`;
    if (debug.includes('gamewire')) {
      // One debug line per process (this module runs once), not a warning per call (issue 2).
      process.stderr.write(`gamewire: addon not loaded, running on the TypeScript fallback (${(err as Error).message.split('\n')[0]})\n`);
    }
    return null;
  }
}

/** The addon, or null when it is absent or GAMEWIRE_NATIVE=0. */
export const addon: AddonExports | null = loadAddon();

/** Why the addon did not load, if it did not. */
export function addonLoadError(): Error | undefined {
  return loadError;
}

/** The addon file that loaded, if one did. */
export function addonFile(): string | undefined {
  return loadedFile;
}

/** The implementation that serves `component` in this process. */
export function implementationOf(component: Component): Implementation {
  if (addon === null) return 'fallback';
  if (readMode() === '1') return 'native';
  return PREFERRED[component];
}

/**
 * `'native'` when the addon is loaded and serves at least one component, else `'fallback'`.
 */
export const implementation: Implementation =
  addon !== null && (Object.keys(PREFERRED) as Component[]).some((c) => implementationOf(c) === 'native')
    ? 'native'
    : 'fallback';
