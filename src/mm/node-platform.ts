/**
 * The mm platform on Node: core components on the loader's choice (the addon's Aead batch API
 * when built), node:crypto, and TCP or `ws` WebSocket connections.
 */
import { WebSocket } from 'ws';
import { createEventRing } from '../core/index.js';
import { connectTcp } from '../transport/tcp-stream.js';
import { connectWebSocket, type WebSocketLike } from '../transport/ws-stream.js';
import { nodeWirePlatform } from '../wire/node-platform.js';
import { webSocketUrl, type MmPlatform } from './platform.js';

/** Node: TCP by default, WebSocket on request. */
export const nodeMmPlatform: MmPlatform = {
  name: 'node',
  wire: nodeWirePlatform,
  eventRing: (options) => createEventRing(options),
  connect(address, port, options) {
    if (options.transport === 'websocket' || options.url !== undefined || /^wss?:\/\//.test(address)) {
      const url = options.url ?? webSocketUrl(address, port);
      return connectWebSocket(url, WebSocket as unknown as new (url: string) => WebSocketLike, options.timeoutMs);
    }
    return connectTcp(address, port, options.timeoutMs);
  },
};
