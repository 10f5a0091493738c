/**
 * gamewire's own framed protocol (docs/protocol.md): handshake, session keys, frames, chunked
 * messages, keepalive and close. Browser-safe: crypto and parsers come from the platform
 * (src/platform/) the caller passes in.
 */
export * from './limits.js';
export * from './protocol.js';
export { parseKey } from './key.js';
export { Session, resolveSessionLimits, nowMs, type SessionHandler, type SessionLimits, type SessionOptions } from './session.js';
export { isAsyncAead, type AsyncAead, type CryptoProvider, type WirePlatform } from '../platform/types.js';
