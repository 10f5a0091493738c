/**
 * The handshake and the session keys (docs/protocol.md §4): HELLO and WELCOME bodies and their
 * checks, the HKDF derivation of each direction's key and nonce prefix, and FINISHED. Pure
 * functions of their inputs and the platform's crypto; the session runs the state machine.
 */
import type { Aead } from '../core/types.js';
import type { AsyncAead, CryptoProvider } from '../platform/types.js';
import { HANDSHAKE_RANDOM_BYTES } from './limits.js';
import {
  CloseCode,
  FINISHED_CLIENT,
  FINISHED_SERVER,
  FLAG_ENCRYPTED,
  FrameType,
  INFO_CLIENT_TO_SERVER,
  INFO_SERVER_TO_CLIENT,
  MAGIC,
} from './protocol.js';

/** HELLO/WELCOME body: type, magic (4), version, flags, random (32). */
const HANDSHAKE_BODY_BYTES = 1 + MAGIC.length + 1 + 1 + HANDSHAKE_RANDOM_BYTES;
const VERSION_AT = 1 + MAGIC.length;
const FLAGS_AT = VERSION_AT + 1;
const RANDOM_AT = FLAGS_AT + 1;
const AES_NONCE_PREFIX_BYTES = 4;

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a: Uint8Array, aOff: number, aLen: number, b: Uint8Array): boolean {
  if (aLen !== b.length) return false;
  for (let i = 0; i < aLen; i++) if (a[aOff + i] !== b[i]) return false;
  return true;
}

/**
 * A HELLO or WELCOME body (§4.1, §4.2).
 * @param random this side's HANDSHAKE_RANDOM_BYTES fresh random bytes
 */
export function handshakeBody(type: number, version: number, keyed: boolean, random: Uint8Array): Uint8Array {
  const body = new Uint8Array(HANDSHAKE_BODY_BYTES);
  body[0] = type;
  body.set(MAGIC, 1);
  body[VERSION_AT] = version;
  body[FLAGS_AT] = keyed ? FLAG_ENCRYPTED : 0;
  body.set(random, RANDOM_AT);
  return body;
}

/**
 * Checks shared by HELLO and WELCOME.
 * @param role this side; `peer` names the other in the reason
 * @returns null when the body is acceptable, else the reason and the close code
 */
export function checkHandshake(
  buf: Uint8Array,
  off: number,
  len: number,
  type: number,
  role: 'client' | 'server',
  version: number,
  keyed: boolean,
): [string, number] | null {
  const peer = role === 'client' ? 'server' : 'client';
  if (len < 1 || buf[off] !== type || len < VERSION_AT + 1 || !equalBytes(buf, off + 1, MAGIC.length, MAGIC)) {
    return [`protocol error: not a gamewire mm ${peer}`, CloseCode.ProtocolError];
  }
  // Version before length: another version may have another layout (§3).
  const peerVersion = buf[off + VERSION_AT]!;
  if (peerVersion !== version) {
    return [`version mismatch: this ${role} speaks ${version}, the ${peer} ${peerVersion}`, CloseCode.VersionMismatch];
  }
  if (len !== HANDSHAKE_BODY_BYTES) return [`protocol error: handshake of ${len} bytes, expected ${HANDSHAKE_BODY_BYTES}`, CloseCode.ProtocolError];
  const peerKey = (buf[off + FLAGS_AT]! & FLAG_ENCRYPTED) !== 0;
  if (peerKey !== keyed) {
    return [
      keyed ? `key mismatch: this ${role} has a key, the ${peer} has none` : `key mismatch: the ${peer} has a key, this ${role} has none`,
      CloseCode.KeyMismatch,
    ];
  }
  return null;
}

/** Both directions' key material: key || nonce prefix, client → server then server → client. */
export type KeyMaterial = readonly [Uint8Array | Promise<Uint8Array>, Uint8Array | Promise<Uint8Array>];

/**
 * §4.3: each direction's key and nonce prefix come from HKDF-SHA256 over the pre-shared key,
 * salted with both randoms, bound to the whole HELLO and WELCOME. Promises on WebCrypto.
 */
export function deriveKeyMaterial(crypto: CryptoProvider, key: Uint8Array, hello: Uint8Array, welcome: Uint8Array): KeyMaterial {
  const salt = concat(hello.subarray(RANDOM_AT), welcome.subarray(RANDOM_AT));
  const length = key.length + AES_NONCE_PREFIX_BYTES;
  return [
    crypto.hkdfSha256(key, salt, concat(INFO_CLIENT_TO_SERVER, hello, welcome), length),
    crypto.hkdfSha256(key, salt, concat(INFO_SERVER_TO_CLIENT, hello, welcome), length),
  ];
}

/** This side's sending and receiving Aead from the derived material (`c2s`, `s2c`). */
export function sessionAeads(
  crypto: CryptoProvider,
  role: 'client' | 'server',
  keyBytes: number,
  c2s: Uint8Array,
  s2c: Uint8Array,
): { tx: Aead | AsyncAead; rx: Aead | AsyncAead } {
  const [txKm, rxKm] = role === 'client' ? [c2s, s2c] : [s2c, c2s];
  return {
    tx: crypto.createAead(txKm.subarray(0, keyBytes), txKm.subarray(keyBytes)),
    rx: crypto.createAead(rxKm.subarray(0, keyBytes), rxKm.subarray(keyBytes)),
  };
}

/** The FINISHED body this side sends (§4.4). */
export function finishedBody(role: 'client' | 'server'): Uint8Array {
  return concat(Uint8Array.of(FrameType.Finished), role === 'client' ? FINISHED_CLIENT : FINISHED_SERVER);
}

/** True when `buf[off, off+len)` is the peer's FINISHED (§4.4). */
export function isPeerFinished(buf: Uint8Array, off: number, len: number, role: 'client' | 'server'): boolean {
  const expected = role === 'client' ? FINISHED_SERVER : FINISHED_CLIENT;
  return len >= 1 && buf[off] === FrameType.Finished && equalBytes(buf, off + 1, len - 1, expected);
}
