/** Byte pipes: TCP and WebSocket streams, and a listener that accepts both on one port. */
export type { ByteStream, StreamCloseInfo } from './types.js';
export { TcpStream, connectTcp } from './tcp-stream.js';
export { WsStream, connectWebSocket, type WebSocketLike } from './ws-stream.js';
export { listenStreams, type StreamListener, type StreamListenerOptions } from './stream-listener.js';
