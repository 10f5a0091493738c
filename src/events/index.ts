/**
 * `gamewire/events`: authoritative events in the Neteria style (neteria.md). The server's rules
 * judge every client event LEGAL or ILLEGAL; clients roll back what was refused. Wire-compatible
 * with ShadowBlip's Neteria 1.0.3 (plain JSON over UDP).
 */
export { EventServer, type ClientInfo, type EventServerOptions, type EventServerStats, type Middleware } from './server.js';
export {
  BROADCAST_ADDRESS,
  EventClient,
  type DiscoveredServer,
  type DiscoverOptions,
  type EventClientOptions,
  type EventClientStats,
  type Rollback,
  type RollbackReason,
  type SentEvent,
} from './client.js';
export { EventsError, type EventsErrorCode } from './errors.js';
export type { Judgement, Priority } from './messages.js';
export type { PeerAddress } from './endpoint.js';
export type { DebugLog } from './log.js';
export { pyDumps } from './python-json.js';
export * as limits from './limits.js';
