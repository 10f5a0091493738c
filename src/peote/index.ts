/**
 * gamewire/peote (Node): maitag's peote-net API over the joint protocol (joint.md). This entry
 * runs the joint client on the Node platform: the TCP connector and the parsers core's loader
 * picks; `configureJointClient` swaps them (e.g.
 * `configureJointClient({ connect: webSocketConnector(WebSocket) })`).
 */
import { useJointClientPlatform } from '../joint/client-platform.js';
import { nodePlatform, tcpConnector } from '../platform/node.js';

useJointClientPlatform(nodePlatform);

export * from './common.js';
export { tcpConnector };
