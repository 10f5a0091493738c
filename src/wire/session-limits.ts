/**
 * The limits of a session (docs/protocol.md, docs/limits.md): the options an mm Server or
 * Client passes, checked once and filled with the defaults of `limits.ts`.
 */
import { MAX_CHUNK_BYTES_LIMIT } from '../core/limits.js';
import {
  HANDSHAKE_TIMEOUT_MS,
  KEEPALIVE_INTERVAL_MS,
  KEEPALIVE_TIMEOUT_MS,
  MAX_FRAME_BYTES,
  MAX_FRAME_BYTES_LIMIT,
  MAX_INBOUND_PER_SECOND,
  MAX_MESSAGE_BYTES,
  MAX_PENDING_DECRYPT_BYTES,
  MAX_SEND_BUFFER_BYTES,
  MAX_TIMER_MS,
  MIN_FRAME_BYTES,
  MIN_KEEPALIVE_TIMEOUT_MS,
  MIN_SEND_BUFFER_BYTES,
  MIN_TIMER_MS,
  WIRE_VERSION,
} from './limits.js';

/** Options of a Session; every limit defaults to its constant in `limits.ts`. */
export interface SessionOptions {
  /** Largest frame body (bytes), MIN_FRAME_BYTES..16 MiB (default `MAX_FRAME_BYTES`). */
  maxFrameBytes?: number;
  /** Largest message (bytes), 1..2^29 (default `MAX_MESSAGE_BYTES`). */
  maxMessageBytes?: number;
  /** Outbound backlog (bytes) past which the session closes with "send buffer overflow" (default `MAX_SEND_BUFFER_BYTES`). */
  maxSendBufferBytes?: number;
  /** Idle milliseconds before a KEEPALIVE is sent (default `KEEPALIVE_INTERVAL_MS`). */
  keepaliveIntervalMs?: number;
  /** Silent milliseconds before the peer is dropped with "keepalive timeout" (default `KEEPALIVE_TIMEOUT_MS`). */
  keepaliveTimeoutMs?: number;
  /** Milliseconds the handshake may take (default `HANDSHAKE_TIMEOUT_MS`). */
  handshakeTimeoutMs?: number;
  /** Inbound frames plus messages per second before "flood"; 0 = unlimited (default `MAX_INBOUND_PER_SECOND`). */
  maxInboundPerSecond?: number;
  /**
   * Received bytes waiting for asynchronous decryption (WebCrypto) before the peer is dropped with
   * "receive backlog overflow", ≥ maxFrameBytes (default `MAX_PENDING_DECRYPT_BYTES`, or
   * maxFrameBytes if larger). Unused on the synchronous (Node) path, which decrypts as it reads.
   */
  maxPendingDecryptBytes?: number;
  /** Protocol version to announce. For tests of version mismatch only (default `WIRE_VERSION`). */
  protocolVersion?: number;
}


function checkLimit(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

/** Resolved limits of a session; validated once per server or client. */
export interface SessionLimits {
  readonly maxFrameBytes: number;
  readonly maxMessageBytes: number;
  readonly maxSendBufferBytes: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly maxInboundPerSecond: number;
  readonly maxPendingDecryptBytes: number;
  readonly protocolVersion: number;
}

/**
 * Validate options and fill in defaults.
 * @throws RangeError naming the option and its bounds
 */
export function resolveSessionLimits(options: SessionOptions = {}): SessionLimits {
  const maxFrameBytes = checkLimit('maxFrameBytes', options.maxFrameBytes ?? MAX_FRAME_BYTES, MIN_FRAME_BYTES, MAX_FRAME_BYTES_LIMIT);
  return {
    maxFrameBytes,
    maxMessageBytes: checkLimit('maxMessageBytes', options.maxMessageBytes ?? MAX_MESSAGE_BYTES, 1, MAX_CHUNK_BYTES_LIMIT),
    maxSendBufferBytes: checkLimit('maxSendBufferBytes', options.maxSendBufferBytes ?? MAX_SEND_BUFFER_BYTES, MIN_SEND_BUFFER_BYTES, 2 ** 31),
    keepaliveIntervalMs: checkLimit('keepaliveIntervalMs', options.keepaliveIntervalMs ?? KEEPALIVE_INTERVAL_MS, MIN_TIMER_MS, MAX_TIMER_MS),
    keepaliveTimeoutMs: checkLimit('keepaliveTimeoutMs', options.keepaliveTimeoutMs ?? KEEPALIVE_TIMEOUT_MS, MIN_KEEPALIVE_TIMEOUT_MS, MAX_TIMER_MS),
    handshakeTimeoutMs: checkLimit('handshakeTimeoutMs', options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS, MIN_TIMER_MS, MAX_TIMER_MS),
    maxInboundPerSecond: checkLimit('maxInboundPerSecond', options.maxInboundPerSecond ?? MAX_INBOUND_PER_SECOND, 0, 2 ** 31),
    maxPendingDecryptBytes: checkLimit('maxPendingDecryptBytes', options.maxPendingDecryptBytes ?? Math.max(MAX_PENDING_DECRYPT_BYTES, maxFrameBytes), maxFrameBytes, 2 ** 31),
    protocolVersion: checkLimit('protocolVersion', options.protocolVersion ?? WIRE_VERSION, 0, 255),
  };
}

/** The clock the `_MS` limits are measured on, in milliseconds; performance.now() exists in Node and browsers. */
export function nowMs(): number {
  return performance.now();
}
