/**
 * The browser platform: WebCrypto for randoms, HKDF and AES-GCM, the TypeScript twins of the
 * core components (a browser has no addon and no loader: core/fallback.ts names that choice),
 * and the browser's WebSocket. Imports nothing from Node.
 */
import { createChunkAssemblerJs, createEventRingJs, createFrameDecoderJs, createJointParserJs } from '../core/fallback.js';
import { AEAD_NONCE_BYTES, AEAD_NONCE_PREFIX_BYTES, AEAD_TAG_BYTES, AEAD_MAX_COUNTER } from '../core/limits.js';
import { connectWebSocket, type WebSocketLike } from '../transport/ws-stream.js';
import { serverWebSocketUrl, webSocketConnector } from './connect.js';
import type { AsyncAead, CryptoProvider, JointConnector, Platform } from './types.js';

const TWO_POW_32 = 2 ** 32;

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error('WebCrypto (crypto.subtle) is not available: encryption needs a secure context (https or localhost)');
  return s;
}

/** WebCrypto's `BufferSource` wants an ArrayBuffer-backed view; copy when needed. */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes) as Uint8Array<ArrayBuffer>;
}

/**
 * AES-GCM on WebCrypto in one direction. nonce = prefix (4) || counter (u64 BE), the same
 * construction as the core Aead, so a browser and a Node peer interoperate.
 */
export class WebCryptoAead implements AsyncAead {
  readonly async = true as const;
  private readonly key: Promise<CryptoKey>;
  private readonly prefix: Uint8Array;
  private next = 0;

  /**
   * @param key 16 or 32 bytes
   * @param noncePrefix 4 bytes
   * @throws RangeError on a wrong length
   */
  constructor(key: Uint8Array, noncePrefix: Uint8Array) {
    if (key.length !== 16 && key.length !== 32) throw new RangeError(`key must be 16 or 32 bytes, got ${key.length}`);
    if (noncePrefix.length !== AEAD_NONCE_PREFIX_BYTES) throw new RangeError(`noncePrefix must be ${AEAD_NONCE_PREFIX_BYTES} bytes`);
    this.key = subtle().importKey('raw', own(key), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    this.prefix = own(noncePrefix);
  }

  private takeNonce(): Uint8Array<ArrayBuffer> | null {
    if (this.next >= AEAD_MAX_COUNTER) return null;
    const nonce = new Uint8Array(AEAD_NONCE_BYTES);
    nonce.set(this.prefix, 0);
    const view = new DataView(nonce.buffer);
    view.setUint32(AEAD_NONCE_PREFIX_BYTES, Math.floor(this.next / TWO_POW_32));
    view.setUint32(AEAD_NONCE_PREFIX_BYTES + 4, this.next % TWO_POW_32);
    this.next++;
    return nonce;
  }

  async seal(plain: Uint8Array): Promise<Uint8Array> {
    const iv = this.takeNonce();
    if (iv === null) throw new Error('nonce counter exhausted');
    const data = own(plain);
    const out = await subtle().encrypt({ name: 'AES-GCM', iv, tagLength: AEAD_TAG_BYTES * 8 }, await this.key, data);
    return new Uint8Array(out);
  }

  async open(sealed: Uint8Array): Promise<Uint8Array | null> {
    const iv = this.takeNonce();
    if (iv === null || sealed.length < AEAD_TAG_BYTES) return null;
    const data = own(sealed);
    try {
      const out = await subtle().decrypt({ name: 'AES-GCM', iv, tagLength: AEAD_TAG_BYTES * 8 }, await this.key, data);
      return new Uint8Array(out);
    } catch {
      return null;
    }
  }
}

/** WebCrypto randoms, HKDF and AES-GCM. */
export const webCrypto: CryptoProvider = {
  randomBytes(n) {
    const out = new Uint8Array(n);
    globalThis.crypto.getRandomValues(out);
    return out;
  },
  async hkdfSha256(ikm, salt, info, length) {
    const s = subtle();
    const base = await s.importKey('raw', own(ikm), 'HKDF', false, ['deriveBits']);
    const bits = await s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: own(salt), info: own(info) }, base, length * 8);
    return new Uint8Array(bits);
  },
  createAead: (key, noncePrefix) => new WebCryptoAead(key, noncePrefix),
};

/** The page's WebSocket constructor, if it has one. */
function globalWebSocket(): (new (url: string) => WebSocketLike) | undefined {
  return (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
}

/** Browsers: always WebSocket (`wss:` when the page is https). */
export const webPlatform: Platform = {
  name: 'browser',
  crypto: webCrypto,
  frameDecoder: createFrameDecoderJs,
  chunkAssembler: createChunkAssemblerJs,
  jointParser: createJointParserJs,
  eventRing: createEventRingJs,
  connect(address, port, options) {
    const WebSocketImpl = globalWebSocket();
    if (WebSocketImpl === undefined) return Promise.reject(new Error('no WebSocket in this environment'));
    const secure = (globalThis as { location?: { protocol?: string } }).location?.protocol === 'https:';
    return connectWebSocket(options.url ?? serverWebSocketUrl(address, port, secure), WebSocketImpl, options.timeoutMs);
  },
  /** Read when a peote entry makes its hooks: null when the page has no WebSocket then. */
  get jointConnector(): JointConnector | null {
    return typeof globalWebSocket() === 'function' ? webSocketConnector() : null;
  },
};
