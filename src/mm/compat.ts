/**
 * The compat namespace: the MM engine's `network` module names over the same objects.
 *
 * @example
 * const [server, result] = network.Server('127.0.0.1', 4096, '0C03EA65238DD2C25EB87CE563868098');
 * for (const ev of network.PollEvents()) if (ev.Event === network.EVENT_RECEIVE) console.log(ev.Packet);
 */
import type { Table } from '../codec/table.js';
import type { Client, ClientOptions } from './client.js';
import type { MmContext } from './context.js';
import { EventType, type EventObject, type MmEvent } from './events.js';
import type { Server, ServerOptions } from './server.js';

/** An event with the original's field names. */
export interface CompatEvent {
  readonly Event: EventType;
  readonly Timestamp: number;
  readonly Object: EventObject;
  /** CONNECTED: true or false. */
  readonly Result?: boolean;
  /** RECEIVE: the table. */
  readonly Packet?: Table;
  /** ERROR (and a failed CONNECTED): the reason. */
  readonly Errors?: string;
  /** SERVER_CLOSE / CLIENT_CLOSE: why. */
  readonly Reason?: string;
}

/** The result string of a successful `network.Server` / `network.Client`. */
export const RESULT_OK = 'ok';

/** Convert an event to the original's field names. */
export function toCompatEvent(ev: MmEvent): CompatEvent {
  const out: { -readonly [K in keyof CompatEvent]: CompatEvent[K] } = { Event: ev.type, Timestamp: ev.timestamp, Object: ev.object };
  switch (ev.type) {
    case EventType.CONNECTED:
      out.Result = ev.result;
      if (ev.error !== undefined) out.Errors = ev.error;
      break;
    case EventType.RECEIVE:
      out.Packet = ev.packet;
      break;
    case EventType.ERROR:
      out.Errors = ev.error;
      break;
    case EventType.SERVER_CLOSE:
    case EventType.CLIENT_CLOSE:
      out.Reason = ev.reason;
      break;
  }
  return out;
}

/** The shape of the `network` namespace. */
export interface Network {
  readonly EVENT_CONNECT: typeof EventType.CONNECT;
  readonly EVENT_CONNECTED: typeof EventType.CONNECTED;
  readonly EVENT_RECEIVE: typeof EventType.RECEIVE;
  readonly EVENT_SERVER_CLOSE: typeof EventType.SERVER_CLOSE;
  readonly EVENT_CLIENT_CLOSE: typeof EventType.CLIENT_CLOSE;
  readonly EVENT_ERROR: typeof EventType.ERROR;
  /** `[server, 'ok']`, or `[null, reason]` on a bad address, port or key. Node only. */
  Server(address: string, port?: number, key?: string, options?: ServerOptions): [Server | null, string];
  /** `[client, 'ok']`, or `[null, reason]` on a bad address, port or key. */
  Client(address: string, port: number, key?: string, options?: ClientOptions): [Client | null, string];
  /** Every event of the global queue since the last call, with the original's field names. */
  PollEvents(): CompatEvent[];
  /** Events the global queue dropped because it was full. */
  DroppedEvents(): number;
}

/**
 * @internal build the namespace over an entry's context and its classes; browsers pass no
 * Server constructor.
 */
export function makeNetwork(
  context: MmContext,
  ClientClass: new (a: string, p: number, k?: string, o?: ClientOptions) => Client,
  ServerClass: (new (a: string, p?: number, k?: string, o?: ServerOptions) => Server) | null,
): Network {
  const attempt = <T>(make: () => T): [T | null, string] => {
    try {
      return [make(), RESULT_OK];
    } catch (err) {
      return [null, (err as Error).message];
    }
  };
  return {
    EVENT_CONNECT: EventType.CONNECT,
    EVENT_CONNECTED: EventType.CONNECTED,
    EVENT_RECEIVE: EventType.RECEIVE,
    EVENT_SERVER_CLOSE: EventType.SERVER_CLOSE,
    EVENT_CLIENT_CLOSE: EventType.CLIENT_CLOSE,
    EVENT_ERROR: EventType.ERROR,
    Server: (address, port, key, options) =>
      ServerClass === null ? [null, 'Server is not available in browsers'] : attempt(() => new ServerClass(address, port, key, options)),
    Client: (address, port, key, options) => attempt(() => new ClientClass(address, port, key, options)),
    PollEvents: () => context.pollEvents().map(toCompatEvent),
    DroppedEvents: () => context.droppedEvents(),
  };
}
