/** Transitional: the Node platform now lives in src/platform/node.ts (issue 15); removed with src/mm/server.ts's import. */
export { nodePlatform as nodeWirePlatform } from '../platform/node.js';
