/**
 * gamewire/peote for browsers: the same API as the Node entry, on the browser platform: the
 * relay over WebSocket (joint.md §9) when the page has one, and the TypeScript parsers.
 * Imports nothing from Node.
 */
import { useJointClientPlatform } from '../joint/client-platform.js';
import { webPlatform } from '../platform/web.js';

useJointClientPlatform(webPlatform);

export * from './common.js';
