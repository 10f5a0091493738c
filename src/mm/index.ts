/**
 * gamewire/mm: tables and polling, after the MM engine's `network` module (docs/mm.md).
 * Node entry: its Client, Server and queue functions run on the Node platform (TCP, node:crypto,
 * the components core's loader picks), passed in through `nodeContext`.
 */
import type { EventRingOptions } from '../core/types.js';
import { Client as ClientOnContext, type ClientOptions } from './client.js';
import type { MmEvent } from './events.js';
import { nodeContext } from './node-context.js';
import { Server } from './server.js';
import { makeNetwork, type Network } from './compat.js';

export { Server, type ServerOptions, type ServerStats } from './server.js';
export type { ClientOptions } from './client.js';
export { Connection } from './connection.js';
export {
  EventType,
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

/**
 * A client for tables and polling, on Node (TCP by default, WebSocket with `transport:
 * 'websocket'` or a ws:// URL). It starts connecting at once; poll for CONNECTED or await
 * `waitForConnect()`.
 *
 * @example
 * const client = new Client('127.0.0.1', 4096);
 * const [ok] = await client.waitForConnect();
 * if (ok) client.send({ x: 1, y: 2 });
 */
export class Client extends ClientOnContext {
  /**
   * Connect to a server.
   * @param address host name or address, or a ws:// / wss:// URL (WebSocket)
   * @param port 1..65535
   * @param key 32 or 64 hex digits, the server's key; absent or '' for no encryption
   * @param options transport, limits and queue options
   * @throws MmArgumentError (a RangeError with `code`) on a bad address, port, key or option;
   *   TypeError for an unknown option name
   */
  constructor(address: string, port: number, key?: string, options?: ClientOptions) {
    super(nodeContext, address, port, key, options);
  }
}

/**
 * Every event since the last call, from the global queue, oldest first.
 * Objects created with `ownQueue: true` (or whose own `pollEvents()` was called) are not here.
 */
export function pollEvents(): MmEvent[] {
  return nodeContext.pollEvents();
}

/** Events the global queue dropped because it was full (since it was created). */
export function droppedEvents(): number {
  return nodeContext.droppedEvents();
}

/**
 * Set the global queue's capacity (entries, default 2000) and payload arena (bytes; default:
 * starts at capacity × 512 and grows on demand, see `EventQueue`). Takes effect at once when
 * the queue is empty or not yet created.
 * @throws RangeError when the queue still holds events, or on a bad capacity
 */
export function configureEventQueue(options: EventRingOptions): void {
  nodeContext.configureEventQueue(options);
}

/** The compat namespace with the original's names (`network.Server`, `network.PollEvents`, `network.EVENT_*`). */
export const network: Network = makeNetwork(nodeContext, Client, Server);
