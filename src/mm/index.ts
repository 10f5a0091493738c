/**
 * gamewire/mm: tables and polling, after the MM engine's `network` module (docs/mm.md).
 * Node entry: installs the Node platform (TCP, node:crypto, the addon's components).
 */
import { setMmPlatform } from './platform.js';
import { nodeMmPlatform } from './node-platform.js';
import { Server } from './server.js';
import { makeNetwork, type Network } from './compat.js';

setMmPlatform(nodeMmPlatform);

export { Server, type ServerOptions, type ServerStats } from './server.js';
export { Client, type ClientOptions } from './client.js';
export { Connection } from './connection.js';
export {
  EventType,
  pollEvents,
  droppedEvents,
  configureEventQueue,
  type MmEvent,
  type ConnectEvent,
  type ConnectedEvent,
  type ReceiveEvent,
  type ServerCloseEvent,
  type ClientCloseEvent,
  type ErrorEvent,
  type EventObject,
} from './events.js';
export { MmArgumentError } from './errors.js';
export { toCompatEvent, RESULT_OK, type CompatEvent, type Network } from './compat.js';
export type { QueueOptions } from './queue-owner.js';
export * from './limits.js';
export type { Table, TableValue } from '../codec/table.js';

/** The compat namespace with the original's names (`network.Server`, `network.PollEvents`, `network.EVENT_*`). */
export const network: Network = makeNetwork(Server);
