/**
 * The mm platform in browsers: src/platform/web.ts (WebCrypto, the TypeScript parsers, the
 * browser's WebSocket).
 */
import { webPlatform } from '../platform/web.js';
import type { MmPlatform } from './platform.js';

/** Browsers: always WebSocket (`wss:` when the page is https). */
export const webMmPlatform: MmPlatform = {
  name: 'browser',
  wire: webPlatform,
  eventRing: (options) => webPlatform.eventRing(options),
  connect: (address, port, options) => webPlatform.connect(address, port, options),
};
