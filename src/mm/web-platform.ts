/**
 * The mm platform in browsers: WebCrypto, the TypeScript parsers, and the browser's WebSocket.
 */
import { connectWebSocket, type WebSocketLike } from '../transport/ws-stream.js';
import { webWirePlatform } from '../wire/web-platform.js';
import { webSocketUrl, type MmPlatform } from './platform.js';
import { EventRingJs } from '../core/event-ring.js';

/** Browsers: always WebSocket (`wss:` when the page is https). */
export const webMmPlatform: MmPlatform = {
  name: 'browser',
  wire: webWirePlatform,
  eventRing: (options) => new EventRingJs(options),
  connect(address, port, options) {
    const WebSocketImpl = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
    if (WebSocketImpl === undefined) return Promise.reject(new Error('no WebSocket in this environment'));
    const secure = (globalThis as { location?: { protocol?: string } }).location?.protocol === 'https:';
    return connectWebSocket(options.url ?? webSocketUrl(address, port, secure), WebSocketImpl, options.timeoutMs);
  },
};
