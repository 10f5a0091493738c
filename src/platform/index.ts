/**
 * The platform seam (types and the browser-safe WebSocket connectors). The two platforms are
 * `node.ts` (Node-only) and `web.ts` (browsers); an entry point imports the one it runs on and
 * passes it to what it builds.
 */
export * from './types.js';
export { webSocketConnector, webSocketUrl, serverWebSocketUrl } from './connect.js';
