/**
 * The one loader of the addon (STYLE.md §6). It honours GAMEWIRE_NATIVE:
 *   0      every component on the TypeScript fallback;
 *   1      every component native, and a missing addon is an error;
 *   unset  the addon if it loads, each component on the implementation in PREFERRED.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Implementation } from './types.js';

/** The components with two implementations. */
export type Component = 'jointParser' | 'frameDecoder' | 'chunkAssembler' | 'aead' | 'eventRing';

/**
 * Which implementation serves each component when both are present and GAMEWIRE_NATIVE is unset.
 * Decided by `npm run bench -- core` (bench/results/core.json); the README's table explains it.
 */
export const PREFERRED: Readonly<Record<Component, Implementation>> = {
  // bench core joint-parser-feed-*: see README "Which implementation runs where"
  jointParser: 'fallback',
  // bench core frame-decoder-feed-*
  frameDecoder: 'fallback',
  // bench core chunk-assembler-feed-*
  chunkAssembler: 'fallback',
  // bench core aead-seal-*: native batch is ~10x node:crypto at 32 B
  aead: 'native',
  // bench core event-ring-*: a JS ring costs 10-15 ns per event, less than one crossing
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

let loadError: Error | undefined;

function loadAddon(): AddonExports | null {
  const mode = readMode();
  if (mode === '0') return null;
  try {
    const require = createRequire(import.meta.url);
    const build = require('node-gyp-build') as (dir: string) => AddonExports;
    return build(PACKAGE_ROOT);
  } catch (err) {
    loadError = err as Error;
    if (mode === '1') {
      throw new Error(`GAMEWIRE_NATIVE=1 but the gamewire addon did not load: ${(err as Error).message}`);
    }
    if (process.env.DEBUG?.includes('gamewire')) {
      // One debug line, not a warning per call (issue 2).
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
