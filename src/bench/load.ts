/**
 * The load loop of one thread: it decides when each of its senders sends, stamps the frame, hands
 * it to the driver and feeds every delivery to the tally.
 *
 * Closed loop: each sender keeps `window` frames in flight; a slot frees when all the frame's
 * deliveries arrived or it timed out, and the next frame goes at once. Open loop: sender s of S
 * sends its frame k at `start + (k + s / S) / rate` (senders staggered over one interval). A timer
 * sends everything due; a frame the driver refuses, or one that finds the sender's ring full,
 * keeps its intended time and is retried, so its latency includes the wait (wrk2's correction of
 * coordinated omission).
 *
 * Phases run on the shared clock (benchClock) so every worker keeps the same schedule: warm-up
 * from `start` (not counted), measured period [measureStart, measureEnd), then the drain (no new
 * frames; frames in flight may still arrive until `drainMs` or until none is left).
 */
import type { Histogram } from 'hdr-histogram-js';
import { encodeHistogram } from './histogram.js';
import { CLOCK_REUSE_COUNT, CONNECT_TIMEOUT_GRACE_MS, MAX_IN_FLIGHT_COUNT, MAX_TALLY_ENTRIES_COUNT, RETRY_MS, TICK_MAX_MS } from './limits.js';
import { benchClock, writeStamp } from './stamp.js';
import { Tally, type MutableCounts } from './tally.js';
import type { BenchDriver, DriverContext, DriverFactory, ResolvedBenchOptions } from './types.js';

/** When a thread's phases begin and end, ms on benchClock(). */
export interface Schedule {
  readonly start: number;
  readonly measureStart: number;
  readonly measureEnd: number;
}

/** One measured second of a thread's timeline, histogram encoded for posting. */
export interface EncodedSecond {
  readonly frames: number;
  readonly bytes: number;
  readonly histogram: string;
}

/** What one thread measured; result.ts merges these into a BenchResult. */
export interface LoadPartial {
  readonly counts: MutableCounts;
  readonly errors: Array<[string, number]>;
  readonly seconds: EncodedSecond[];
}

/** A progress sample of one thread: the deliveries of frames sent in one measured second. */
export interface ProgressSample {
  readonly frames: number;
  readonly histogram: Histogram | null;
}

/**
 * Error entry counting the times a sender was held up by its full ring. In a closed loop that
 * takes a frame lost (or very late) 4 x window frames ago: the sender waits out frameTimeoutMs,
 * which may span the whole measured period, so it must not pass silently.
 */
export const RING_FULL =
  'times a sender was held up because its ring of frames in flight was full: its oldest frame was still awaiting delivery or frameTimeoutMs';

/** The least ring a sender gets (frames): the receive windows are bitmaps of 32-bit words. */
const MIN_RING_COUNT = 32;

/** The ring a closed loop wants beyond its window, so a frame stuck until its timeout does not stall it. */
const CLOSED_RING_FACTOR = 4;

/**
 * Ring entries per sender: frames in flight it may have (a power of two). Closed loop: 4 x window
 * (never less than the window); open loop: a frame timeout's worth of frames. Cut to the thread's
 * share of MAX_TALLY_ENTRIES_COUNT, and to MAX_IN_FLIGHT_COUNT.
 */
export function ringCapacity(options: ResolvedBenchOptions, senders: number): number {
  const want = options.rate !== null ? (options.rate * options.frameTimeoutMs) / 1000 : CLOSED_RING_FACTOR * options.window!;
  const budget = Math.max(MIN_RING_COUNT, MAX_TALLY_ENTRIES_COUNT / Math.max(1, senders));
  const floor = options.window ?? MIN_RING_COUNT;
  let capacity = MIN_RING_COUNT;
  while (capacity < MAX_IN_FLIGHT_COUNT && (capacity < floor || (capacity < want && capacity * 2 <= budget))) capacity *= 2;
  return capacity;
}

/**
 * benchClock() shared by up to CLOCK_REUSE_COUNT readings within one synchronous run: a reading
 * is fresh when the last one has been used that often or a microtask (the end of the current turn
 * of the event loop) has passed since.
 */
class TurnClock {
  private at = 0;
  private left = 0;
  private armed = false;
  private readonly expire = (): void => {
    this.armed = false;
    this.left = 0;
  };

  now(): number {
    if (this.left > 0) {
      this.left--;
      return this.at;
    }
    this.at = benchClock();
    this.left = CLOCK_REUSE_COUNT - 1;
    if (!this.armed) {
      this.armed = true;
      queueMicrotask(this.expire);
    }
    return this.at;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Drives one thread's driver through a run. */
export class LoadRunner {
  readonly driver: BenchDriver;
  private tally: Tally | null = null;
  private readonly options: ResolvedBenchOptions;
  private readonly senderBase: number;
  private schedule: Schedule = { start: Infinity, measureStart: Infinity, measureEnd: Infinity };
  private stopAt = Infinity;
  private phase: 'idle' | 'sending' | 'draining' | 'done' = 'idle';
  private timer: ReturnType<typeof setTimeout> | null = null;
  private finished: (() => void) | null = null;
  /** Arrival and closed-loop send times (CLOCK_REUSE_COUNT); the timer and schedule read benchClock(). */
  private readonly clock = new TurnClock();

  // Per sender (local index).
  private senders = 0;
  private pending: Array<Uint8Array | null> = [];
  private pendingAt: Float64Array = new Float64Array(0);
  private reuse: Array<Uint8Array | null> = [];
  private pumping: Uint8Array = new Uint8Array(0);
  private blocked = new Set<number>();
  /** 1 while sender s waits for its full ring (counted once per wait in RING_FULL). */
  private ringFull: Uint8Array = new Uint8Array(0);

  // Open loop.
  private lastSweep = -Infinity;
  private intervalMs = 0;
  private cursor = 0;
  private due: Float64Array = new Float64Array(0);

  constructor(factory: DriverFactory, context: DriverContext) {
    this.options = context.options;
    this.senderBase = context.senderBase;
    this.driver = factory(context);
    this.driver.deliver = (payload, receiver) => this.tally?.deliver(payload, receiver, this.clock.now());
    this.driver.deliverAt = (bytes, offset, length, receiver) => this.tally?.deliverAt(bytes, offset, length, receiver, this.clock.now());
    this.driver.fail = (error) => this.error(errorMessage(error));
  }

  /** Sending streams of the driver (valid after open). */
  get senderCount(): number {
    return this.senders;
  }

  /**
   * Connects the driver, within connectTimeoutMs; on failure closes it and rejects.
   * @returns the driver's senders
   */
  async open(): Promise<number> {
    const { host, port, connectTimeoutMs } = this.options;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`bench: could not connect to ${host}:${port} within ${connectTimeoutMs} ms`)),
        connectTimeoutMs + CONNECT_TIMEOUT_GRACE_MS,
      );
    });
    try {
      await Promise.race([this.driver.open(), timeout]);
    } catch (error) {
      await this.closeDriver();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const n = this.driver.senders;
    this.senders = n;
    const capacity = ringCapacity(this.options, n);
    this.tally = new Tally({
      senderBase: this.senderBase,
      senders: n,
      capacity,
      ordered: this.driver.ordered,
      frameTimeoutMs: this.options.frameTimeoutMs,
      verify: this.options.verify,
      onFree: (s) => this.onFree(s),
    });
    this.pending = new Array<Uint8Array | null>(n).fill(null);
    this.pendingAt = new Float64Array(n);
    this.pumping = new Uint8Array(n);
    this.ringFull = new Uint8Array(n);
    this.due = new Float64Array(n);
    const { size } = this.options;
    this.reuse = new Array<Uint8Array | null>(n).fill(null);
    if (this.driver.copiesPayload === true) for (let s = 0; s < n; s++) this.reuse[s] = new Uint8Array(size.max);
    return n;
  }

  /**
   * Runs the schedule: sends from `start`, measures [measureStart, measureEnd), drains, closes
   * the driver. Resolves with what this thread measured.
   */
  run(schedule: Schedule): Promise<LoadPartial> {
    const tally = this.tally;
    if (tally === null) throw new Error('LoadRunner.run before open');
    this.schedule = schedule;
    tally.setMeasure(schedule.measureStart, Math.min(schedule.measureEnd, this.stopAt));
    if (this.options.rate !== null) this.intervalMs = 1000 / this.options.rate;
    return new Promise<void>((resolve) => {
      this.finished = resolve;
      this.arm(Math.max(0, schedule.start - benchClock()));
    }).then(() => this.partial());
  }

  /** Ends the measured period at `at` (abort): no frame intended later is sent; then the drain. */
  stop(at: number): void {
    this.stopAt = Math.min(this.stopAt, at);
    this.tally?.endMeasure(this.stopAt);
    // Before run() (an abort while opening) there is no schedule yet: run() reads stopAt.
    if (this.finished !== null && (this.phase === 'sending' || this.phase === 'idle')) this.arm(0);
  }

  /** Deliveries so far of the frames sent in measured second `second` (the progress line). */
  progress(second: number): ProgressSample {
    const s = this.tally?.seconds[second];
    return s === undefined ? { frames: 0, histogram: null } : { frames: s.frames, histogram: s.histogram };
  }

  private get sendEnd(): number {
    return Math.min(this.schedule.measureEnd, this.stopAt);
  }

  private arm(delayMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), delayMs);
  }

  private tick(): void {
    this.timer = null;
    const tally = this.tally!;
    const now = benchClock();
    // Sweeping visits every sender: at most once per TICK_MAX_MS, not on every 1 ms open-loop tick.
    if (now - this.lastSweep >= TICK_MAX_MS || this.phase === 'draining') {
      tally.sweep(now);
      this.lastSweep = now;
    }
    if (this.phase === 'idle' && now >= this.schedule.start) {
      if (this.stopAt <= this.schedule.start) {
        this.phase = 'draining';
      } else {
        this.phase = 'sending';
        if (this.options.rate === null) for (let s = 0; s < this.senders; s++) this.pump(s, now);
      }
    }
    if (this.phase === 'sending') {
      // Frames due before the end are sent even when this tick came late: they were due.
      if (this.options.rate !== null) this.openLoop(now);
      if (now >= this.sendEnd) {
        this.phase = 'draining';
        this.blocked.clear();
        this.pending.fill(null);
      } else if (this.options.rate === null) {
        // A copy: pump() may block the sender again, and a Set visits re-added members again.
        const retry = [...this.blocked];
        this.blocked.clear();
        for (const s of retry) this.pump(s, now);
      }
    }
    if (this.phase === 'draining') {
      if (tally.measuredLive === 0 || now >= this.sendEnd + this.options.drainMs) {
        void this.finish();
        return;
      }
    }
    if (this.phase === 'idle') return this.arm(Math.max(0, this.schedule.start - now));
    let delay = TICK_MAX_MS;
    if (this.phase === 'sending') {
      if (this.blocked.size > 0) delay = RETRY_MS;
      else if (this.options.rate !== null) delay = Math.min(delay, Math.max(0, this.openDueAt(this.cursor) - now));
      delay = Math.min(delay, Math.max(0, this.sendEnd - now));
    } else {
      delay = Math.min(delay, Math.max(0, this.sendEnd + this.options.drainMs - now));
    }
    this.arm(delay);
  }

  /** Intended time of the open loop's global frame `g` (sender g % S, its frame g / S). */
  private openDueAt(g: number): number {
    // A thread without senders (fewer users than workers) has nothing ever due.
    if (this.senders === 0) return Infinity;
    return this.schedule.start + (g * this.intervalMs) / this.senders;
  }

  private openLoop(now: number): void {
    const n = this.senders;
    const end = Math.min(now, this.sendEnd - 1e-9);
    for (let at = this.openDueAt(this.cursor); at <= end; at = this.openDueAt(++this.cursor)) {
      const s = this.cursor % n;
      this.due[s]!++;
      if (!this.blocked.has(s) && !this.openSend(s, now)) this.blocked.add(s);
    }
    for (const s of this.blocked) if (this.openSend(s, now)) this.blocked.delete(s);
  }

  /** Sends sender s's frames that are due; false when it must wait (refused, or ring full). */
  private openSend(s: number, now: number): boolean {
    const tally = this.tally!;
    const n = this.senders;
    while (tally.nextSequence(s) < this.due[s]!) {
      if (!tally.hasRoom(s)) return this.heldByRing(s);
      const k = tally.nextSequence(s);
      if (!this.sendOne(s, this.schedule.start + ((k * n + s) * this.intervalMs) / n, now)) return false;
    }
    return true;
  }

  /** Closed loop: fills sender s's window. Re-entrant calls (a delivery inside send) are folded in. */
  private pump(s: number, now: number): void {
    if (this.pumping[s] || this.phase !== 'sending') return;
    const tally = this.tally!;
    const window = this.options.window!;
    this.pumping[s] = 1;
    try {
      while (tally.inFlight(s) < window && tally.hasRoom(s)) {
        if (now >= this.sendEnd) return;
        if (!this.sendOne(s, now, now)) {
          this.blocked.add(s);
          if (this.timer === null || this.blocked.size === 1) this.arm(RETRY_MS);
          return;
        }
        now = this.clock.now();
      }
      if (tally.inFlight(s) < window && !tally.hasRoom(s)) this.heldByRing(s);
    } finally {
      this.pumping[s] = 0;
    }
  }

  /**
   * Stamps (or takes back the refused frame of) sender s and hands it to the driver.
   * @returns false when the driver refused it (it stays pending with its stamp)
   */
  private sendOne(s: number, intended: number, now: number): boolean {
    const tally = this.tally!;
    let payload = this.pending[s]!;
    let sentAt: number;
    const retry = payload !== null;
    if (retry) {
      sentAt = this.pendingAt[s]!;
    } else {
      sentAt = intended;
      payload = this.payload(s);
      // A reused buffer keeps the filler it was made with (zeros): `stamp` writes only its sample.
      writeStamp(payload, this.senderBase + s, tally.nextSequence(s), sentAt, this.options.verify, this.reuse[s] != null);
    }
    const fanout = this.driver.fanout(s);
    // Registered first: a driver may deliver before send() returns.
    tally.sent(s, sentAt, now, fanout);
    let ok: boolean;
    try {
      ok = this.driver.send(s, payload);
    } catch (error) {
      this.error(errorMessage(error));
      ok = false;
    }
    if (ok) {
      this.pending[s] = null;
      this.ringFull[s] = 0;
      return true;
    }
    tally.unsent(s, sentAt, fanout);
    if (!retry) {
      this.pending[s] = payload;
      this.pendingAt[s] = sentAt;
      tally.refused(sentAt);
    }
    return false;
  }

  /** Sender s cannot send for its full ring: counts the wait once. @returns false */
  private heldByRing(s: number): false {
    if (this.ringFull[s] === 0) {
      this.ringFull[s] = 1;
      this.error(RING_FULL);
    }
    return false;
  }

  private payload(s: number): Uint8Array {
    const { min, max } = this.options.size;
    const size = min === max ? min : min + Math.floor(Math.random() * (max - min + 1));
    const reused = this.reuse[s];
    if (reused != null) return size === reused.byteLength ? reused : reused.subarray(0, size);
    return Buffer.allocUnsafe(size);
  }

  private onFree(s: number): void {
    if (this.phase === 'sending') {
      if (this.options.rate === null && !this.blocked.has(s)) this.pump(s, this.clock.now());
    } else if (this.phase === 'draining' && this.tally!.measuredLive === 0 && this.timer !== null) {
      // The last measured frame arrived: end the drain now rather than at the next tick.
      this.arm(0);
    }
  }

  private error(message: string): void {
    this.tally?.errors.add(message);
    if (this.tally === null) this.earlyErrors.push(message);
  }

  private readonly earlyErrors: string[] = [];

  private async finish(): Promise<void> {
    if (this.phase === 'done') return;
    this.phase = 'done';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const tally = this.tally!;
    tally.sweep(benchClock());
    tally.finish();
    await this.closeDriver();
    this.finished?.();
  }

  private async closeDriver(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.driver.close(),
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            this.error(`bench: the driver did not close within ${this.options.connectTimeoutMs} ms`);
            resolve();
          }, this.options.connectTimeoutMs);
        }),
      ]);
    } catch (error) {
      this.error(errorMessage(error));
    } finally {
      clearTimeout(timer);
    }
  }

  private partial(): LoadPartial {
    const tally = this.tally!;
    for (const m of this.earlyErrors) tally.errors.add(m);
    const count = Math.max(0, Math.ceil((this.sendEnd - this.schedule.measureStart) / 1000 - 1e-9));
    const seconds: EncodedSecond[] = [];
    for (let i = 0; i < Math.max(count, tally.seconds.length); i++) {
      const s = tally.second(this.schedule.measureStart + i * 1000);
      seconds.push({ frames: s.frames, bytes: s.bytes, histogram: encodeHistogram(s.histogram) });
      s.histogram.destroy();
    }
    return { counts: { ...tally.counts }, errors: [...tally.errors.byMessage], seconds };
  }
}
