/**
 * The events bench responder (docs/bench.md "What the target must run"): in the events style the
 * verdict is the delivery, so the target's middleware must judge bench events. Wrap your rules in
 * `eventsBenchMiddleware(rules)`, or run `serveEventsBench()`, an EventServer that does nothing
 * else.
 */
import { EventServer } from '../../events/server.js';
import type { EventServerOptions, Middleware } from '../../events/server-types.js';
import { BENCH_SERVER_EVENT_WINDOW_COUNT, BENCH_SERVER_JUDGED_RETENTION_MS, BENCH_SERVER_MAX_CLIENTS } from '../drivers/style-limits.js';
import { BENCH_TAG_KEY, EventsTag, checksumString } from './wire.js';

/** Whether `data` is a bench event's data (`{ gwbench: 'v', b, h }`). */
function isBenchData(data: unknown): data is { [key: string]: unknown } {
  return typeof data === 'object' && data !== null && (data as { [key: string]: unknown })[BENCH_TAG_KEY] === EventsTag.Verdict;
}

/**
 * Middleware that judges bench events LEGAL when their payload arrived intact (its checksum
 * matches) and ILLEGAL otherwise, and hands every other event to `rules`. Bench events are
 * never executed.
 * @param rules your game's middleware; default accepts everything (as EventServer's default)
 * @returns the middleware to give EventServer
 * @throws TypeError when `rules` has no `judge` function
 *
 * @example
 * const server = new EventServer({ port: 40080, middleware: eventsBenchMiddleware(rules) });
 */
export function eventsBenchMiddleware(rules?: Middleware): Middleware {
  if (rules !== undefined && typeof rules?.judge !== 'function') throw new TypeError('eventsBenchMiddleware: rules must be a Middleware with a judge function');
  return {
    judge(clientId: string, eventId: string, data: unknown): boolean | Promise<boolean> {
      if (isBenchData(data)) {
        const b = data['b'];
        return typeof b === 'string' && data['h'] === checksumString(b);
      }
      return rules === undefined ? true : rules.judge(clientId, eventId, data);
    },
    execute(clientId: string, eventId: string, data: unknown): void | Promise<void> {
      if (isBenchData(data)) return;
      return rules?.execute?.(clientId, eventId, data);
    },
  };
}

/** Options of `serveEventsBench`. */
export interface EventsBenchServerOptions {
  /** Address to bind, default '127.0.0.1'. */
  host?: string;
  /** Port, default 0 (the OS picks; see `port` of the result). */
  port?: number;
  /**
   * EventServer options, merged over the bench defaults: `registrationLimit`
   * `BENCH_SERVER_MAX_CLIENTS` with no per-IP cap, a window of `BENCH_SERVER_EVENT_WINDOW_COUNT`
   * judged ids kept `BENCH_SERVER_JUDGED_RETENTION_MS`.
   */
  server?: EventServerOptions;
}

/** A running events bench server. */
export interface EventsBenchServer {
  readonly server: EventServer;
  /** The bound port. */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A ready-made EventServer whose middleware judges bench events (and accepts anything else).
 * @returns once listening
 * @throws RangeError / TypeError for bad options (EventServer's); rejects when binding fails
 */
export async function serveEventsBench(options: EventsBenchServerOptions = {}): Promise<EventsBenchServer> {
  const server = new EventServer({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    middleware: eventsBenchMiddleware(),
    registrationLimit: BENCH_SERVER_MAX_CLIENTS,
    maxRegistrationsPerIp: 0,
    recentEventWindow: BENCH_SERVER_EVENT_WINDOW_COUNT,
    judgedRetentionMs: BENCH_SERVER_JUDGED_RETENTION_MS,
    ...options.server,
  });
  const address = await server.listen();
  return {
    server,
    port: address.port,
    close: () => server.close(),
  };
}
