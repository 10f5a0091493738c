/**
 * Opening byte streams over WebSocket, shared by both platforms (the browser's only way, an
 * option on Node with the `ws` package's WebSocket). Browser-safe.
 */
import { connectWebSocket, type WebSocketLike } from '../transport/ws-stream.js';
import type { JointConnector } from './types.js';

/**
 * A joint connector that opens `ws://host:port/` (joint.md §9). A host that already has a scheme
 * (`ws://…`, `wss://…`) is used as given, with `:port` appended.
 * @param WebSocketImpl the WebSocket constructor (default: the global one, as in browsers)
 * @throws Error when no WebSocket constructor is available
 */
export function webSocketConnector(WebSocketImpl?: new (url: string) => WebSocketLike): JointConnector {
  const Impl = WebSocketImpl ?? (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Impl) throw new Error('webSocketConnector: no WebSocket constructor (pass one, e.g. the ws package)');
  return (host, port) => connectWebSocket(webSocketUrl(host, port), Impl);
}

/** The URL a joint WebSocket connector opens for `host:port`. */
export function webSocketUrl(host: string, port: number): string {
  if (/^wss?:\/\//i.test(host)) return `${host.replace(/\/+$/, '')}:${port}/`;
  return `ws://${bracketed(host)}:${port}/`;
}

/** The URL an mm Client opens for a server at `address:port`; a ws:// or wss:// address is used as given. */
export function serverWebSocketUrl(address: string, port: number, secure = false): string {
  if (/^wss?:\/\//.test(address)) return address;
  return `${secure ? 'wss' : 'ws'}://${bracketed(address)}:${port}/`;
}

/** An IPv6 literal in brackets, as a URL needs it. */
function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
