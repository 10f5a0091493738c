/**
 * gamewire/peote for browsers: the same API as the Node entry, reaching the relay over
 * WebSocket (joint.md §9) with the TypeScript parsers. Imports nothing from Node.
 */
import { configureJointClient } from '../joint/client-platform.js';
import { webSocketConnector } from '../joint/client-websocket.js';

if (typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function') {
  configureJointClient({ connect: webSocketConnector() });
}

export * from './common.js';
