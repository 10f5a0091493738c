/**
 * The Node platform: node:crypto for randoms and HKDF, the core components on whichever
 * implementation core's loader picked (the addon's Aead batch API when built), TCP or `ws`
 * WebSocket connections. Node-only: only the Node entries import it.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { createAead, createChunkAssembler, createEventRing, createFrameDecoder, createJointParser } from '../core/index.js';
import { connectTcp } from '../transport/tcp-stream.js';
import { connectWebSocket, type WebSocketLike } from '../transport/ws-stream.js';
import { serverWebSocketUrl } from './connect.js';
import type { CryptoProvider, JointConnector, Platform } from './types.js';

/** node:crypto HKDF and randoms, core Aead. */
export const nodeCrypto: CryptoProvider = {
  randomBytes: (n) => new Uint8Array(randomBytes(n)),
  hkdfSha256: (ikm, salt, info, length) => new Uint8Array(hkdfSync('sha256', ikm, salt, info, length)),
  createAead: (key, noncePrefix) => createAead(key, noncePrefix),
};

/** Opens a raw TCP connection to the relay (joint.md §2). */
export const tcpConnector: JointConnector = (host, port) => connectTcp(host, port);

/** Node: TCP by default, WebSocket on request. */
export const nodePlatform: Platform = {
  name: 'node',
  crypto: nodeCrypto,
  frameDecoder: (options) => createFrameDecoder(options),
  chunkAssembler: (options) => createChunkAssembler(options),
  jointParser: (options) => createJointParser(options),
  eventRing: (options) => createEventRing(options),
  connect(address, port, options) {
    if (options.transport === 'websocket' || options.url !== undefined || /^wss?:\/\//.test(address)) {
      const url = options.url ?? serverWebSocketUrl(address, port);
      return connectWebSocket(url, WebSocket as unknown as new (url: string) => WebSocketLike, options.timeoutMs);
    }
    return connectTcp(address, port, options.timeoutMs);
  },
  jointConnector: tcpConnector,
};
