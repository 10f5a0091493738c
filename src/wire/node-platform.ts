/**
 * The Node implementation of the wire seam: node:crypto for randoms and HKDF, and the core
 * components on whichever implementation the loader picked (the addon's Aead batch API).
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { createAead, createChunkAssembler, createFrameDecoder } from '../core/index.js';
import type { CryptoProvider, WirePlatform } from './platform.js';

/** node:crypto HKDF and randoms, core Aead. */
export const nodeCrypto: CryptoProvider = {
  randomBytes: (n) => new Uint8Array(randomBytes(n)),
  hkdfSha256: (ikm, salt, info, length) => new Uint8Array(hkdfSync('sha256', ikm, salt, info, length)),
  createAead: (key, noncePrefix) => createAead(key, noncePrefix),
};

/** The wire platform for Node. */
export const nodeWirePlatform: WirePlatform = {
  crypto: nodeCrypto,
  frameDecoder: (options) => createFrameDecoder(options),
  chunkAssembler: (options) => createChunkAssembler(options),
};
