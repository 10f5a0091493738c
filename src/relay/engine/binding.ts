/**
 * The native relay engine's binding as the control plane uses it: the types and constants of
 * src/core/relay-engine-binding.ts (the only loader of the addon is core/), and the one mapping
 * the relay adds, from its disconnect reasons to the engine's codes.
 */
import { RELAY_ENGINE_REASONS } from '../../core/index.js';
import type { DisconnectReason } from '../stats.js';

export {
  RELAY_ENGINE_REASONS,
  RELAY_EVENT_STRIDE,
  RelayEventType,
  relayEngineBinding,
  type RelayEngineBinding,
  type RelayEngineConfig,
  type RelayEngineConstructor,
  type RelayEngineEvents,
} from '../../core/index.js';

/** The engine's code for a relay disconnect reason (what `engine.close` is told); -1 when it has none. */
export function engineReasonCode(reason: DisconnectReason): number {
  return (RELAY_ENGINE_REASONS as readonly string[]).indexOf(reason);
}
