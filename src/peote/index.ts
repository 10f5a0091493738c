/**
 * gamewire/peote (Node): maitag's peote-net API over the joint protocol (joint.md). Importing
 * this entry installs the TCP connector and the addon-backed parsers; `configureJointClient`
 * swaps them (e.g. `configureJointClient({ connect: webSocketConnector(WebSocket) })`).
 */
import { createChunkAssembler, createJointParser } from '../core/index.js';
import { configureJointClient } from '../joint/client-platform.js';
import { tcpConnector } from '../joint/client-tcp.js';

configureJointClient({ connect: tcpConnector, jointParser: createJointParser, chunkAssembler: createChunkAssembler });

export * from './common.js';
export { tcpConnector };
