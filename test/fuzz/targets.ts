/**
 * The fuzz target registry, shared by `npm run fuzz` (test/fuzz/run.ts) and the corpus replay
 * in `npm test` (test/corpus-replay.test.ts). A target turns one input into an observable
 * result on one implementation and throws when an invariant breaks; the engine compares the
 * results of all implementations byte for byte.
 *
 * The core components are in core-targets.ts (`dual: true`: native and fallback compared); the
 * styles' parsers (table decoding, PeoteBytesInput, RPC, UDP session words, event JSON) are in
 * style-targets.ts (`dual: false`: one implementation); the native engine's WebSocket codec,
 * which has no TypeScript twin, in ws-targets.ts (`dual: false`, checked against a model). To
 * add a parser, write a `FuzzTarget` and append it to `TARGETS` below. Its corpus lives in `test/corpus/<name>/`.
 */
import { fallbackFactories, nativeFactories, type CoreFactories } from '../../src/core/index.js';
import type { Rng } from './rng.js';
import { CORE_TARGETS } from './core-targets.js';
import { STYLE_TARGETS } from './style-targets.js';
import { WS_TARGETS } from './ws-targets.js';

/** What one execution on one implementation observed. */
export interface Observation {
  /** Everything observable, canonical: compared across implementations. */
  result: string;
  /** A coarse shape of the behaviour (error, unit kinds, paths): new ones go to the corpus. */
  signature: string;
}

export interface FuzzTarget {
  /** Stable name, also the corpus folder `test/corpus/<name>/`. */
  readonly name: string;
  readonly description: string;
  /** True for core components (run on native and fallback and compared). */
  readonly dual: boolean;
  /** Largest input the fuzzer makes for this target (bytes). */
  readonly maxInputBytes: number;
  /** Well-formed starting inputs (the saved corpus adds to them). */
  seeds(): Uint8Array[];
  /** A structure-aware random input: property fuzzing beside mutation. */
  generate(rng: Rng): Uint8Array;
  /**
   * Run `input` on `impl` (ignored when `dual` is false). Must be a pure function of the input.
   * @throws Error when an invariant breaks (split invariance, bounds, model mismatch...).
   */
  run(input: Uint8Array, impl: CoreFactories): Observation;
}

/** Every target, in a stable order. */
export const TARGETS: readonly FuzzTarget[] = [...CORE_TARGETS, ...STYLE_TARGETS, ...WS_TARGETS];

/** The implementations to fuzz: the fallback always, the addon when its wrappers construct. */
export function fuzzImplementations(): CoreFactories[] {
  if (nativeFactories === null) return [fallbackFactories];
  try {
    nativeFactories.frameDecoder();
    return [nativeFactories, fallbackFactories];
  } catch {
    return [fallbackFactories];
  }
}

/** One failure of one execution. */
export interface Failure {
  implementation: string;
  kind: 'exception' | 'difference';
  message: string;
}

export interface Execution {
  /** Implementations that ran (one for single targets). */
  implementations: string[];
  failures: Failure[];
  /** The signature of the first implementation that ran without throwing, or ''. */
  signature: string;
}

/**
 * Run `input` through `target` on every implementation and compare the results.
 * A throw is an `exception` failure of that implementation; a result differing from the
 * fallback's is a `difference` failure of the other implementation.
 */
export function execute(target: FuzzTarget, input: Uint8Array, impls: readonly CoreFactories[]): Execution {
  const list = target.dual ? impls : [fallbackFactories];
  const failures: Failure[] = [];
  const results = new Map<string, string>();
  let signature = '';
  for (const impl of list) {
    const name = target.dual ? impl.name : 'js';
    try {
      const o = target.run(input, impl);
      results.set(name, o.result);
      if (signature === '') signature = o.signature;
    } catch (err) {
      failures.push({ implementation: name, kind: 'exception', message: String((err as Error)?.stack ?? err).slice(0, 2000) });
    }
  }
  const reference = results.get('fallback');
  if (reference !== undefined) {
    for (const [name, result] of results) {
      if (name !== 'fallback' && result !== reference) {
        failures.push({ implementation: name, kind: 'difference', message: firstDifference(reference, result) });
      }
    }
  }
  return { implementations: list.map((i) => (target.dual ? i.name : 'js')), failures, signature };
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `results differ at char ${i}: fallback …${a.slice(Math.max(0, i - 60), i + 60)}… vs …${b.slice(Math.max(0, i - 60), i + 60)}…`;
}
