/**
 * The events bench driver: `users` EventClients (this thread's share, a socket each) register
 * with an EventServer whose middleware judges bench events (responders/events.ts), then send
 * events `{ gwbench: 'v', b: <payload, base64>, h: <checksum of b> }`. The verdict is the
 * delivery: LEGAL delivers the payload the event carried (its latency is event to verdict),
 * ILLEGAL (the server saw a different payload) delivers it corrupted. Callbacks fire as
 * datagrams arrive: nothing is polled.
 *
 * Neteria resends an EVENT until judged and judges each id once, so a frame is delivered at
 * most once, but a resent event may be judged after later ones: `ordered` is false.
 */
import { EventClient } from '../../events/client.js';
import type { SentEvent } from '../../events/client-types.js';
import type { BenchDriver, DriverContext, DriverFactory } from '../types.js';
import { BENCH_TAG_KEY, EventsTag, checksumString } from '../responders/wire.js';
import { EVENTS_MAX_IN_FLIGHT_COUNT, EVENTS_MAX_PAYLOAD_BYTES } from './style-limits.js';
import { checkMode, corrupted, senderShare } from './share.js';

const enum State {
  Fresh,
  Opening,
  Open,
  Closed,
}

/** The data of a bench event. */
interface BenchEventData {
  gwbench: string;
  b: string;
  h: number;
}

/** The events driver (docs/bench.md). */
export class EventsDriver implements BenchDriver {
  readonly senders: number;
  /** A resent event may be judged after later ones: reordering is not counted. */
  readonly ordered = false;
  /** The payload is base64-encoded during send(). */
  readonly copiesPayload = true;
  deliver: (payload: Uint8Array, receiver: number) => void = () => {};
  fail: (error: Error) => void = () => {};

  private readonly base: number;
  private readonly clients: EventClient[] = [];
  private state = State.Fresh;

  /**
   * @param context this thread's share; `options.mode` must be event
   * @throws RangeError for another mode, or a size above `EVENTS_MAX_PAYLOAD_BYTES` (7168)
   */
  constructor(private readonly context: DriverContext) {
    checkMode('events', context.options.mode, ['event']);
    if (context.options.size.max > EVENTS_MAX_PAYLOAD_BYTES) {
      throw new RangeError(`size must be at most ${EVENTS_MAX_PAYLOAD_BYTES} bytes for events (one EVENT datagram holds 10240), got ${context.options.size.max}`);
    }
    this.senders = senderShare(context);
    this.base = context.senderBase;
  }

  /** Each event is judged once, by the server, for its sender. */
  fanout(_sender: number): number {
    return 1;
  }

  /**
   * Register every client, then send one probe event that must be judged LEGAL.
   * @throws (rejects) when a registration fails or the probe is not judged LEGAL within
   *   `connectTimeoutMs`; every client is closed then
   */
  async open(): Promise<void> {
    if (this.state !== State.Fresh) throw new Error('events driver: open() called twice');
    this.state = State.Opening;
    const { host, port, connectTimeoutMs } = this.context.options;
    const where = `${host}:${port}`;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`events: no answer from ${where} within ${connectTimeoutMs} ms (registration or the bench probe event)`)), connectTimeoutMs);
    });
    try {
      for (let i = 0; i < this.senders; i++) this.clients.push(this.makeClient(this.base + i));
      await Promise.race([
        Promise.all(this.clients.map((c) => c.register(host, port))).catch((err: Error) => {
          throw new Error(`events: cannot register with ${where}: ${err.message}`);
        }),
        timeout,
      ]);
      if (this.clients.length > 0) {
        const probe: BenchEventData = { [BENCH_TAG_KEY]: EventsTag.Verdict, b: '', h: checksumString('') } as BenchEventData;
        const verdict = await Promise.race([this.clients[0]!.event(probe), timeout]);
        if (verdict !== 'LEGAL') throw new Error(`events: ${where} judged the bench probe ${verdict}; its middleware must judge bench events (eventsBenchMiddleware or serveEventsBench)`);
      }
      this.state = State.Open;
    } catch (err) {
      this.state = State.Closed;
      await Promise.all(this.clients.map((c) => c.close()));
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Send one event from client `sender`.
   * @returns false when the client is not registered or awaits `EVENTS_MAX_IN_FLIGHT_COUNT` verdicts
   */
  send(sender: number, payload: Uint8Array): boolean {
    if (this.state !== State.Open) return false;
    const client = this.clients[sender]!;
    if (!client.registered || client.pending.size >= EVENTS_MAX_IN_FLIGHT_COUNT) return false;
    const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64');
    const data: BenchEventData = { [BENCH_TAG_KEY]: EventsTag.Verdict, b, h: checksumString(b) } as BenchEventData;
    // Its outcome arrives through the callbacks; the promise is already marked handled.
    void client.event(data);
    return true;
  }

  /** Close every client (pending events are dropped, not resent). */
  async close(): Promise<void> {
    if (this.state === State.Closed) return;
    this.state = State.Closed;
    await Promise.all(this.clients.map((c) => c.close()));
  }

  private makeClient(receiver: number): EventClient {
    const payloadOf = (event: SentEvent): Uint8Array | null => {
      const data = event.data as Partial<BenchEventData> | null;
      if (this.state !== State.Open || typeof data !== 'object' || data === null || data[BENCH_TAG_KEY as 'gwbench'] !== EventsTag.Verdict) return null;
      return Buffer.from(typeof data.b === 'string' ? data.b : '', 'base64');
    };
    return new EventClient({
      port: 0,
      maxPendingEvents: EVENTS_MAX_IN_FLIGHT_COUNT,
      onLegal: (event) => {
        const payload = payloadOf(event);
        if (payload !== null) this.deliver(payload, receiver);
      },
      onIllegal: (event) => {
        const payload = payloadOf(event);
        if (payload !== null) this.deliver(corrupted(payload), receiver);
      },
      onNotRegistered: () => {
        if (this.state === State.Open) this.fail(new Error('events: the server no longer knows a client (BYE EVENT)'));
      },
      onError: (error) => {
        if (this.state === State.Open) this.fail(new Error(`events: ${error.message}`));
      },
    });
  }
}

/** The registry's entry point: builds this thread's events driver. */
export const createDriver: DriverFactory = (context) => new EventsDriver(context);
