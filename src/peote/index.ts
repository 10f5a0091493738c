/**
 * gamewire/peote (Node): maitag's peote-net API over the joint protocol (joint.md). This entry's
 * PeoteServer and PeoteClient run the joint client on the Node hooks (`nodeJointHooks`): the TCP
 * connector and the parsers core's loader picks; `configureJointClient` swaps them (e.g.
 * `configureJointClient({ connect: webSocketConnector(WebSocket) })`).
 */
import { configureJointHooks, type JointClientPlatform } from '../joint/client-platform.js';
import { tcpConnector } from '../platform/node.js';
import { nodeJointHooks } from './node-hooks.js';
import { PeoteClient as PeoteClientOnHooks, type PeoteClientOptions } from './peote-client.js';
import { PeoteServer as PeoteServerOnHooks, type PeoteServerOptions } from './peote-server.js';

export * from './common.js';
export { tcpConnector };

/** Owns one joint at a time through a relay (TCP by default) or offline; see the base class. */
export class PeoteServer extends PeoteServerOnHooks {
  /**
   * @param options callbacks and limits (default: RPC mode, maxChunkSize 32768)
   * @throws TypeError when both onData and onDataChunk are given, or for an unknown option
   * @throws RangeError for maxChunkSize, netLag or netSpeed out of range
   */
  constructor(options?: PeoteServerOptions) {
    super(nodeJointHooks, options);
  }
}

/** Is in one joint at a time, through a relay (TCP by default) or locally; see the base class. */
export class PeoteClient extends PeoteClientOnHooks {
  /**
   * @param options callbacks and limits (default: RPC mode, maxChunkSize 32768)
   * @throws TypeError when both onData and onDataChunk are given, or for an unknown option
   * @throws RangeError for maxChunkSize out of range
   */
  constructor(options?: PeoteClientOptions) {
    super(nodeJointHooks, options);
  }
}

/**
 * Replace some of this entry's joint client hooks, e.g. `configureJointClient({ connect:
 * myConnector })` to reach the relay through a proxy or over WebSocket. Applies to connections
 * and joints started afterwards.
 */
export function configureJointClient(hooks: Partial<JointClientPlatform>): void {
  configureJointHooks(nodeJointHooks, hooks);
}
