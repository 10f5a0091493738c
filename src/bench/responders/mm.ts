/**
 * The mm bench responder (docs/bench.md "What the target must run"): the mm style's server runs
 * application code, so `gamewire bench mm` needs the server to answer bench tables. Call
 * `mmBenchResponder(server).handle(event)` on each polled event in your own loop, or run
 * `serveMmBench()`, a server that does nothing else.
 */
import { Connection } from '../../mm/connection.js';
import { EventType, type MmEvent } from '../../mm/events.js';
import { Server, type ServerOptions } from '../../mm/server.js';
import type { Table, TableValue } from '../../codec/table.js';
import { BENCH_SERVER_MAX_CLIENTS } from '../drivers/style-limits.js';
import { PollLoop } from '../drivers/poll-loop.js';
import { BENCH_TAG_KEY, MmTag, checksumString } from './wire.js';

/** Answers the bench tables of one mm Server. */
export interface MmBenchResponder {
  /**
   * Handle one polled event.
   * @returns true when it was bench traffic (answered here; do not handle it yourself). CONNECT
   *   and CLIENT_CLOSE are seen but not consumed: they return false.
   */
  handle(event: MmEvent): boolean;
  /** Connections registered as bench clients (by their hello). */
  readonly clients: number;
}

/**
 * Answer bench tables on `server`: c2s tables get a small ack (their counter and the checksum
 * of their payload), echo tables go back to their sender, broadcast tables go to every bench
 * client of the sender's group (the clients of one load-generator thread, named in their hello;
 * the sender included). Application tables are left alone.
 * @param server the Server whose polled events you pass to `handle`
 * @returns the responder
 * @throws TypeError when `server` is not an mm Server
 *
 * @example
 * const bench = mmBenchResponder(server);
 * for (const ev of server.pollEvents()) {
 *   if (bench.handle(ev)) continue;
 *   // ... your game's events
 * }
 */
export function mmBenchResponder(server: Server): MmBenchResponder {
  if (!(server instanceof Server)) throw new TypeError('mmBenchResponder: server must be an mm Server');
  // Bench clients by group (one group per driver thread: deliveries must reach the thread that
  // sent the frame), kept as arrays for `server.send(table, ...list)`.
  const groupOf = new Map<Connection, string>();
  const groups = new Map<string, Connection[]>();
  const ack: { [key: string]: TableValue } = { [BENCH_TAG_KEY]: MmTag.Ack, n: 0, h: 0 };
  const welcome: Table = { [BENCH_TAG_KEY]: MmTag.Welcome };
  return {
    get clients(): number {
      return groupOf.size;
    },
    handle(event: MmEvent): boolean {
      if (event.type === EventType.CLIENT_CLOSE) {
        const group = groupOf.get(event.object);
        if (group !== undefined) {
          groupOf.delete(event.object);
          const list = groups.get(group)!.filter((c) => c !== event.object);
          if (list.length > 0) groups.set(group, list);
          else groups.delete(group);
        }
        return false;
      }
      if (event.type !== EventType.RECEIVE) return false;
      const conn = event.object;
      const packet = event.packet;
      if (!(conn instanceof Connection) || conn.server !== server) return false;
      if (typeof packet !== 'object' || packet === null || Array.isArray(packet)) return false;
      const fields = packet as { [key: string]: TableValue };
      const tag = fields[BENCH_TAG_KEY];
      if (typeof tag !== 'string') return false;
      switch (tag) {
        case MmTag.C2s: {
          const b = fields['b'];
          ack['n'] = fields['n'] ?? null;
          // A missing payload gets a checksum no payload has: the driver counts it corrupted.
          ack['h'] = typeof b === 'string' ? checksumString(b) : -1;
          server.send(ack, conn);
          break;
        }
        case MmTag.Echo:
          server.send(packet, conn);
          break;
        case MmTag.Broadcast: {
          const group = groupOf.get(conn);
          if (group !== undefined) server.send(packet, ...groups.get(group)!);
          break;
        }
        case MmTag.Hello: {
          if (!groupOf.has(conn)) {
            const g = fields['g'];
            const group = typeof g === 'string' ? g : '';
            groupOf.set(conn, group);
            const list = groups.get(group);
            if (list === undefined) groups.set(group, [conn]);
            else list.push(conn);
          }
          server.send(welcome, conn);
          break;
        }
        default:
          break; // a bench tag of a later version: ignored, still not the application's
      }
      return true;
    },
  };
}

/** Options of `serveMmBench`. */
export interface MmBenchServerOptions {
  /** Address to bind, default '127.0.0.1'. */
  host?: string;
  /** Port, default 0 (the OS picks; see `port` of the result). */
  port?: number;
  /** 32 or 64 hex digits (AES-GCM), default none. */
  key?: string;
  /**
   * Server options, merged over the bench defaults: `ownQueue`, `maxConnections`
   * `BENCH_SERVER_MAX_CLIENTS` and no per-IP or connect-rate budget (one load generator opens
   * many connections from one address at once).
   */
  server?: ServerOptions;
}

/** A running bench server. */
export interface MmBenchServer {
  readonly server: Server;
  /** The bound port. */
  readonly port: number;
  readonly responder: MmBenchResponder;
  /** Stops polling and closes the server. */
  close(): Promise<void>;
}

/**
 * A ready-made mm server that only answers bench traffic, polled on every turn of the event
 * loop while busy and every 1 ms when idle (PollLoop).
 * @returns once listening
 * @throws MmArgumentError on a bad host, port, key or option; rejects when listening fails
 */
export async function serveMmBench(options: MmBenchServerOptions = {}): Promise<MmBenchServer> {
  const server = await Server.listen(options.host ?? '127.0.0.1', options.port ?? 0, options.key, {
    ownQueue: true,
    maxConnections: BENCH_SERVER_MAX_CLIENTS,
    maxConnectionsPerIp: 0,
    maxPendingHandshakes: BENCH_SERVER_MAX_CLIENTS,
    maxPendingHandshakesPerIp: BENCH_SERVER_MAX_CLIENTS,
    connectRatePerIp: 0,
    ...options.server,
  });
  const responder = mmBenchResponder(server);
  const loop = new PollLoop(() => {
    const events = server.pollEvents();
    for (const ev of events) responder.handle(ev);
    return events.length;
  });
  loop.start();
  return {
    server,
    port: server.getPort(),
    responder,
    async close(): Promise<void> {
      loop.stop();
      await server.close();
    },
  };
}
