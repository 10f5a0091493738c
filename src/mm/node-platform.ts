/**
 * The mm platform on Node: src/platform/node.ts (core components on the loader's choice,
 * node:crypto, TCP or `ws` WebSocket connections).
 */
import { nodePlatform } from '../platform/node.js';
import type { MmPlatform } from './platform.js';

/** Node: TCP by default, WebSocket on request. */
export const nodeMmPlatform: MmPlatform = {
  name: 'node',
  wire: nodePlatform,
  eventRing: (options) => nodePlatform.eventRing(options),
  connect: (address, port, options) => nodePlatform.connect(address, port, options),
};
