/**
 * Connectors that reach a relay over WebSocket (joint.md §9): the browser's path, and an option
 * in Node (with the `ws` package's WebSocket). Browser-safe.
 */
import { connectWebSocket, type WebSocketLike } from '../transport/ws-stream.js';
import type { JointConnector } from './client-platform.js';

/**
 * A connector that opens `ws://host:port/`. A host that already has a scheme
 * (`ws://…`, `wss://…`) is used as given, with `:port` appended.
 * @param WebSocketImpl the WebSocket constructor (default: the global one, as in browsers)
 * @throws Error when no WebSocket constructor is available
 */
export function webSocketConnector(WebSocketImpl?: new (url: string) => WebSocketLike): JointConnector {
  const Impl = WebSocketImpl ?? (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Impl) throw new Error('webSocketConnector: no WebSocket constructor (pass one, e.g. the ws package)');
  return (host, port) => connectWebSocket(webSocketUrl(host, port), Impl);
}

/** The URL a WebSocket connector opens for `host:port`. */
export function webSocketUrl(host: string, port: number): string {
  if (/^wss?:\/\//i.test(host)) return `${host.replace(/\/+$/, '')}:${port}/`;
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `ws://${bracketed}:${port}/`;
}
