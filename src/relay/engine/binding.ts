/**
 * The native relay engine's binding as the control plane uses it (the contract of issue 19:
 * docs/native-engine.md). Until src/core/relay-engine-binding.ts lands this file states the
 * contract itself; afterwards it only re-exports what core/ defines.
 */
import type { DisconnectReason } from '../stats.js';

/** What `new RelayEngine(config, onEvents)` takes: the relay's resolved options, passed through. */
export interface RelayEngineConfig {
  host: string;
  port: number;
  websocket: boolean;
  maxWebSocketPayloadBytes: number;
  loginTimeoutMs: number;
  idleTimeoutMs: number;
  stallTimeoutMs: number;
  keepaliveMs: number;
  maxOutboundBytes: number;
  outboundHighWaterBytes: number;
  outboundLowWaterBytes: number;
  inboundBytesPerSec: number;
  inboundUnitsPerSec: number;
  inboundBurstSeconds: number;
  /** 0 throttle, 1 disconnect. */
  inboundPolicy: number;
}

/** Event batches: `count` records of `RELAY_EVENT_STRIDE` int32 each, payloads in `bytes` (borrowed for the call). */
export type RelayEngineEvents = (records: Int32Array, count: number, bytes: Buffer) => void;

/** One engine instance (`addon.RelayEngine`). */
export interface RelayEngineBinding {
  /** Bind and listen; @returns the port. @throws Error with `code` (EADDRINUSE...). */
  listen(): number;
  start(): void;
  admit(conn: number): void;
  resume(conn: number): void;
  /** Queue `bytes` (copied) to `conn`; one call is one WebSocket message. */
  send(conn: number, bytes: Uint8Array): void;
  /** Joint `jOwn` of `owner` exists (`owned` true, at a create) or no more (a delete). */
  own(owner: number, jOwn: number, owned: boolean): void;
  enter(user: number, jIn: number, owner: number, jOwn: number, userNr: number): void;
  leave(user: number, jIn: number): void;
  /** Flush what is queued, then close; no CLOSED event comes back. */
  close(conn: number, reasonCode: number): void;
  stats(out: Float64Array): void;
  stop(): void;
}

export type RelayEngineConstructor = new (config: RelayEngineConfig, onEvents: RelayEngineEvents) => RelayEngineBinding;

/** Record layout: `[type, conn, a, b, c, offset, length, 0]`. */
export const RELAY_EVENT_STRIDE = 8;
export const RelayEventType = { Accept: 1, Command: 2, Closed: 3, Remote: 4 } as const;

/** The CLOSED event's reason codes, in the engine's order (native/engine/engine-stats.h `Reason`). */
export const ENGINE_REASON_CODES = ['peer_closed', 'socket_error', 'protocol_error', 'rate_limit', 'slow_reader', 'stalled', 'idle', 'shutdown', 'login_timeout'] as const;

/** The engine's code for a relay disconnect reason (what `engine.close` is told); -1 when it has none. */
export function engineReasonCode(reason: DisconnectReason): number {
  return (ENGINE_REASON_CODES as readonly string[]).indexOf(reason);
}
