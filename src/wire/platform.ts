/**
 * The seam between the protocol and its platform. Everything in `src/wire/` except
 * `node-platform.ts` imports only types from here, so a browser build can supply WebCrypto
 * (`web-platform.ts`) instead of node:crypto and the addon.
 */
import type { Aead, ChunkAssembler, ChunkAssemblerOptions, FrameDecoder, FrameDecoderOptions } from '../core/types.js';

/**
 * AES-GCM for one direction with an implicit counter, asynchronous (WebCrypto). The counter is
 * taken when `seal`/`open` is called, so calls made in frame order use the right nonces even
 * though the promises settle later; the session awaits them in the same order.
 */
export interface AsyncAead {
  readonly async: true;
  /** Seal one plaintext: resolves to ciphertext || 16-byte tag. */
  seal(plain: Uint8Array): Promise<Uint8Array>;
  /** Open one sealed frame: resolves to the plaintext, or null when authentication fails. */
  open(sealed: Uint8Array): Promise<Uint8Array | null>;
}

/** Cryptography the handshake and the session need. */
export interface CryptoProvider {
  /** `n` cryptographically random bytes. */
  randomBytes(n: number): Uint8Array;
  /**
   * HKDF-SHA256 (RFC 5869). May return a promise (WebCrypto is asynchronous); the session
   * holds back input until it resolves.
   */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array | Promise<Uint8Array>;
  /** AES-GCM for one direction with an implicit counter: the core `Aead` (sync) or WebCrypto (async). */
  createAead(key: Uint8Array, noncePrefix: Uint8Array): Aead | AsyncAead;
}

/** Parsers and crypto a session is built from. */
export interface WirePlatform {
  readonly crypto: CryptoProvider;
  frameDecoder(options: FrameDecoderOptions): FrameDecoder;
  chunkAssembler(options: ChunkAssemblerOptions): ChunkAssembler;
}

/** True when `aead` is the asynchronous (WebCrypto) kind. */
export function isAsyncAead(aead: Aead | AsyncAead): aead is AsyncAead {
  return (aead as AsyncAead).async === true;
}
