/**
 * The one seam between gamewire and its platform (Node or a browser): cryptography, the core
 * components on the implementation the platform runs, and ways to open byte streams. The entry
 * points (`gamewire`, `gamewire/mm`, `gamewire/peote`, `gamewire/browser`) pass a `Platform` to
 * what they build; nothing installs one globally. This file imports no Node built-in.
 */
import type {
  Aead,
  ChunkAssembler,
  ChunkAssemblerOptions,
  EventRing,
  EventRingOptions,
  FrameDecoder,
  FrameDecoderOptions,
  JointParser,
  JointParserOptions,
} from '../core/types.js';
import type { ByteStream } from '../transport/types.js';

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

/** Parsers and crypto a wire session is built from (the part of `Platform` src/wire uses). */
export interface WirePlatform {
  readonly crypto: CryptoProvider;
  frameDecoder(options: FrameDecoderOptions): FrameDecoder;
  chunkAssembler(options: ChunkAssemblerOptions): ChunkAssembler;
}

/** True when `aead` is the asynchronous (WebCrypto) kind. */
export function isAsyncAead(aead: Aead | AsyncAead): aead is AsyncAead {
  return (aead as AsyncAead).async === true;
}

/** How an mm Client reaches its server. */
export interface ConnectOptions {
  /** 'tcp' (Node default) or 'websocket' (the only one in browsers). */
  transport?: 'tcp' | 'websocket';
  /** A full ws:// or wss:// URL; overrides address and port for WebSocket. */
  url?: string;
  /** Milliseconds to wait for the connection. */
  timeoutMs: number;
}

/** Opens one connection to the relay at `host:port`; rejects when it cannot. */
export type JointConnector = (host: string, port: number) => Promise<ByteStream>;

/**
 * The hooks of the joint client (the peote style): how it reaches the relay and its parsers.
 * Each peote entry holds one, made from its platform; `configureJointClient` changes it.
 */
export interface JointClientPlatform {
  /** Opens connections; null when the platform has none (a browser page without WebSocket). */
  connect: JointConnector | null;
  /** Makes the parser of the relay → client stream. */
  jointParser(options: JointParserOptions): JointParser;
  /** Makes a chunk assembler (joint.md §10). */
  chunkAssembler(options: ChunkAssemblerOptions): ChunkAssembler;
}

/** Node or a browser: everything the styles need from where they run. */
export interface Platform extends WirePlatform {
  readonly name: 'node' | 'browser';
  jointParser(options: JointParserOptions): JointParser;
  eventRing(options?: EventRingOptions): EventRing;
  /** Opens an mm connection (TCP or WebSocket on Node, WebSocket in browsers). */
  connect(address: string, port: number, options: ConnectOptions): Promise<ByteStream>;
  /** The joint client's default connector (TCP on Node, WebSocket in browsers), or null. */
  readonly jointConnector: JointConnector | null;
}
