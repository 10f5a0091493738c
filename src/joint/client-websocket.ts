/**
 * The WebSocket connectors live in src/platform/connect.ts (issue 15); this name stays while
 * src/peote/common.ts re-exports them from here.
 */
export { webSocketConnector, webSocketUrl } from '../platform/connect.js';
