/**
 * An in-process stand-in for the addon's `RelayEngine` (the contract of issue 19), for the unit
 * tests of the native engine's control plane: no sockets and no thread. It records every call the
 * control plane makes, and a test plays the I/O thread by handing it event batches with `emit`.
 */
import { RELAY_ENGINE_REASONS, RELAY_EVENT_STRIDE, RelayEventType, type RelayEngineBinding, type RelayEngineConfig, type RelayEngineEvents } from '../../src/relay/engine/binding.js';

/** One event as a test writes it; `bytes` is the payload (the IP of a CONNECT or ACCEPT, a command's payload, a close's detail). */
export interface FakeEvent {
  type: 'connect' | 'accept' | 'command' | 'closed';
  conn: number;
  a?: number;
  b?: number;
  bytes?: Uint8Array | string;
}

/** A call the control plane made, `[method, ...arguments]` (sent bytes copied). */
export type FakeCall = [string, ...unknown[]];

const TYPES = { connect: RelayEventType.Connect, accept: RelayEventType.Accept, command: RelayEventType.Command, closed: RelayEventType.Closed } as const;

export class FakeRelayEngine implements RelayEngineBinding {
  /** The counter names, as the addon's `RelayEngine.statsNames` (a subset is enough). */
  static readonly statsNames: readonly string[] = ['connections', 'pendingConnections', 'bytesIn', 'bytesOut', 'framesIn', 'framesOut', 'drops', 'throttled', 'backpressured', 'backpressuredNow', 'backlogBytes', ...RELAY_ENGINE_REASONS];
  /** Every engine made, newest last. */
  static readonly made: FakeRelayEngine[] = [];
  /** The next `listen()` throws this (then it is cleared). */
  static listenError: Error | null = null;

  readonly calls: FakeCall[] = [];
  /** What `stats` reports, by name. */
  readonly counters: Record<string, number> = {};
  stopped = false;
  /** The calls of this name throw (a binding that fails), after being recorded. */
  failing: string | null = null;

  constructor(
    readonly config: RelayEngineConfig,
    private readonly onEvents: RelayEngineEvents,
  ) {
    FakeRelayEngine.made.push(this);
  }

  listen(): number {
    const err = FakeRelayEngine.listenError;
    FakeRelayEngine.listenError = null;
    if (err !== null) throw err;
    this.calls.push(['listen']);
    return 40_000 + FakeRelayEngine.made.length;
  }
  start(): void {
    this.calls.push(['start']);
  }
  admit(conn: number): void {
    this.calls.push(['admit', conn]);
    this.fail('admit');
  }
  resume(conn: number): void {
    this.calls.push(['resume', conn]);
  }
  send(conn: number, bytes: Uint8Array): void {
    this.calls.push(['send', conn, Buffer.from(bytes).toString('hex')]);
    this.fail('send');
  }
  own(owner: number, jOwn: number, owned: boolean): void {
    this.calls.push(['own', owner, jOwn, owned]);
  }
  enter(user: number, jIn: number, owner: number, jOwn: number, userNr: number): void {
    this.calls.push(['enter', user, jIn, owner, jOwn, userNr]);
  }
  leave(user: number, jIn: number): void {
    this.calls.push(['leave', user, jIn]);
  }
  /** Counts the close by its reason, as the engine does. */
  close(conn: number, reasonCode: number): void {
    this.calls.push(['close', conn, reasonCode]);
    this.count(RELAY_ENGINE_REASONS[reasonCode]!);
  }
  stats(out: Float64Array): void {
    FakeRelayEngine.statsNames.forEach((name, i) => (out[i] = this.counters[name] ?? 0));
  }
  stop(): void {
    this.calls.push(['stop']);
    this.stopped = true;
  }

  private fail(method: string): void {
    if (this.failing === method) throw new Error(`fake ${method} failed`);
  }

  private count(name: string): void {
    this.counters[name] = (this.counters[name] ?? 0) + 1;
  }

  /** Hand the control plane one batch, as the I/O thread would (counting each CLOSED by its reason first). */
  emit(batch: FakeEvent[]): void {
    // The engine reports every socket at CONNECT before its ACCEPT (the caps are judged there).
    const events = batch.flatMap((e) => (e.type === 'accept' ? [{ ...e, type: 'connect' as const, a: 0 }, e] : [e]));
    for (const e of events) if (e.type === 'closed') this.count(RELAY_ENGINE_REASONS[e.a ?? 0]!);
    const records = new Int32Array(events.length * RELAY_EVENT_STRIDE);
    const parts: Buffer[] = [];
    let at = 0;
    events.forEach((e, i) => {
      const payload = typeof e.bytes === 'string' ? Buffer.from(e.bytes, 'latin1') : Buffer.from(e.bytes ?? []);
      records.set([TYPES[e.type], e.conn, e.a ?? 0, e.b ?? 0, 0, at, payload.length, 0], i * RELAY_EVENT_STRIDE);
      parts.push(payload);
      at += payload.length;
    });
    this.onEvents(records, events.length, Buffer.concat(parts));
  }

  /** The calls made since the last `take()`, and forget them. */
  take(): FakeCall[] {
    return this.calls.splice(0);
  }
}
