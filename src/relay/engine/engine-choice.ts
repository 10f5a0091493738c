/**
 * Which engine a relay runs (`RelayOptions.engine`, `gamewire relay --engine`): the Node engine
 * always can; the native one needs Linux and an addon built with the relay engine (with its
 * remote routes when the relay has the `cluster` option). Asked for and not possible, the relay runs the Node engine and says why in one
 * debug line (the addon loader's rule for a missing addon, STYLE.md §6).
 */
import { addonLoadError } from '../../core/index.js';
import type { RelayEngineKind, ResolvedRelayOptions } from '../options.js';
import { relayEngineBinding, type RelayEngineConstructor } from './binding.js';

/** What running the native engine takes: the addon's class and the names of its counters; whether it speaks WebSocket. */
export interface NativeEngineSupport {
  readonly Engine: RelayEngineConstructor;
  readonly statNames: readonly string[];
  readonly webSocket: boolean;
}

/** The engine a relay runs, and why it is not the one asked for when it is not. */
export interface EngineChoice {
  readonly kind: RelayEngineKind;
  /** With `kind` 'native': the addon's engine. */
  readonly native?: NativeEngineSupport;
  /** Set when 'native' was asked for and the Node engine runs. */
  readonly why?: string;
}

/**
 * The native engine of this process, or why there is none (no addon, an addon without the
 * engine, not Linux). Does not look at any relay's options.
 */
export function nativeEngineSupport(): NativeEngineSupport | string {
  if (process.platform !== 'linux') return `the native engine is built for Linux only (this is ${process.platform})`;
  if (relayEngineBinding !== undefined) return { Engine: relayEngineBinding, statNames: relayEngineBinding.statsNames, webSocket: relayEngineBinding.webSocket === true };
  const failed = addonLoadError();
  if (failed !== undefined) return `the addon did not load (${failed.message.split('\n')[0]})`;
  if (process.env.GAMEWIRE_NATIVE === '0') return 'the addon is not loaded (GAMEWIRE_NATIVE=0)';
  return 'the loaded addon has no relay engine (built before it)';
}

/** The engine `options` get. */
export function chooseEngine(options: Readonly<ResolvedRelayOptions>): EngineChoice {
  if (options.engine === 'node') return { kind: 'node' };
  const support = nativeEngineSupport();
  if (typeof support === 'string') return { kind: 'node', why: support };
  // Cross-node data needs the engine's remote routes (REMOTE records, pause/unpause).
  if (options.cluster !== undefined && support.Engine.remote !== true) return { kind: 'node', why: 'the loaded addon has no remote routes for the cluster option (built before them)' };
  return { kind: 'native', native: support };
}
