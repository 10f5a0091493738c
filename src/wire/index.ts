/**
 * gamewire's own framed protocol (docs/protocol.md): handshake, session keys, frames, chunked
 * messages, keepalive and close. Browser-safe: the Node pieces are in `node-platform.ts`.
 */
export * from './limits.js';
export * from './protocol.js';
export { parseKey } from './key.js';
export { Session, resolveSessionLimits, nowMs, type SessionHandler, type SessionLimits, type SessionOptions } from './session.js';
export { isAsyncAead, type AsyncAead, type CryptoProvider, type WirePlatform } from './platform.js';
