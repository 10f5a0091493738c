/**
 * gamewire/relay: a peote-server compatible relay (joint.md), hardened and streaming.
 *
 * ```ts
 * import { Relay } from 'gamewire/relay';
 * const relay = await Relay.listen({ port: 7680 });
 * // peote-net programs connect to 127.0.0.1:7680 over TCP or WebSocket
 * await relay.close();
 * ```
 */
export { Relay, CreateError, EnterError } from './relay.js';
export { resolveRelayOptions, type RelayEngineKind, type RelayOptions, type ResolvedRelayOptions } from './options.js';
export { DisconnectReason, type RelayStatsSnapshot } from './stats.js';
export { createLogger, silentLogger, LOG_LEVELS, type Logger, type LogLevel, type LogFields, type LoggerOptions } from './logger.js';
export { METRIC_PREFIX } from './metrics.js';
export * from './limits.js';
