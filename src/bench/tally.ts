/**
 * What happened to every frame: the tally checks each delivery's stamp against the frames in
 * flight and counts delivered, lost, reordered, corrupted and duplicated deliveries, recording the
 * latency of each first intact delivery from the frame's *intended* send time.
 *
 * Memory is bounded by the frames in flight: each sender has a ring of `capacity` entries indexed
 * by sequence, and each (sender, receiver) pair a `capacity`-bit window of the sequences it has
 * received (anti-replay style), so a delivery is classified in O(1) whatever the run's length.
 */
import type { Histogram } from 'hdr-histogram-js';
import { MAX_ERROR_MESSAGES_COUNT } from './limits.js';
import { latencyHistogram, recordMs } from './histogram.js';
import { StampReader, type StampVerify } from './stamp.js';
import type { DeliveryCounts } from './types.js';

/** Counts as the tally keeps them (DeliveryCounts, mutable). */
export type MutableCounts = { -readonly [K in keyof DeliveryCounts]: DeliveryCounts[K] };

/** One measured second of the timeline: frames *sent* in it, their deliveries and latency. */
export interface SecondTally {
  frames: number;
  bytes: number;
  histogram: Histogram;
}

/** Errors by message, bounded to MAX_ERROR_MESSAGES_COUNT distinct messages. */
export class ErrorTally {
  readonly byMessage = new Map<string, number>();

  add(message: string, count = 1): void {
    const known = this.byMessage.get(message);
    if (known !== undefined) this.byMessage.set(message, known + count);
    else if (this.byMessage.size < MAX_ERROR_MESSAGES_COUNT) this.byMessage.set(message, count);
    else this.add(OTHER_ERRORS, count);
  }
}

/** The entry past MAX_ERROR_MESSAGES_COUNT distinct messages. */
export const OTHER_ERRORS = 'other errors (too many distinct messages)';

/** Error entry of deliveries that came after their frame was counted lost. */
export const LATE_DELIVERY = 'deliveries after frameTimeoutMs (their frames are counted lost)';

/** Error entry of intact stamps of a sender this thread does not drive. */
export const FOREIGN_SENDER = 'deliveries stamped by a sender of another thread or run (counted corrupted)';

/** Error entry of intact stamps of a frame not sent yet. */
export const UNSENT_FRAME = 'deliveries of a frame never sent (counted corrupted)';

/**
 * Error entries of what went wrong with the warm-up's frames. `counts` covers the measured period
 * only, so without these a loss before it (which may block a sender well into it) would be silent.
 */
export const WARMUP_LOST = 'expected deliveries of frames sent during the warm-up were lost (not in counts, which cover the measured period)';
export const WARMUP_CORRUPTED = 'deliveries during the warm-up were corrupted (not in counts, which cover the measured period)';
export const WARMUP_DUPLICATED = 'deliveries of frames sent during the warm-up were duplicated (not in counts, which cover the measured period)';
export const WARMUP_REORDERED = 'deliveries of frames sent during the warm-up were reordered (not in counts, which cover the measured period)';

/** What a frame in a sender's ring belongs to (SenderTrack.measured). */
const AFTER = 0;
const MEASURED = 1;
const WARMUP = 2;

function emptyCounts(): MutableCounts {
  return { sent: 0, expected: 0, delivered: 0, lost: 0, reordered: 0, corrupted: 0, duplicated: 0, refused: 0 };
}

/** Receive window of one (sender, receiver) pair. */
class PairTrack {
  /** One more than the highest sequence received. */
  high = 0;
  readonly bits: Uint32Array;

  constructor(capacity: number) {
    this.bits = new Uint32Array(capacity >>> 5 || 1);
  }
}

/** Frames in flight of one sender: a ring indexed by `sequence & mask`. */
class SenderTrack {
  /** Next sequence to send. */
  next = 0;
  /** Oldest sequence that may still be in flight. */
  tail = 0;
  /** Frames in flight. */
  live = 0;
  /** Deliveries each frame still expects; 0 = the slot is free. */
  readonly remaining: Int32Array;
  /** When each frame was really handed to the driver (its timeout runs from here). */
  readonly sentReal: Float64Array;
  /** AFTER, MEASURED or WARMUP. */
  readonly measured: Uint8Array;
  readonly pairs = new Map<number, PairTrack>();

  constructor(capacity: number) {
    this.remaining = new Int32Array(capacity);
    this.sentReal = new Float64Array(capacity);
    this.measured = new Uint8Array(capacity);
  }
}

/** Options of a Tally. */
export interface TallyOptions {
  /** Global id of this thread's first sender. */
  readonly senderBase: number;
  readonly senders: number;
  /** Frames in flight per sender at most (a power of two, >= 32). */
  readonly capacity: number;
  /** Whether the transport promises per-sender order (reordering is counted only then). */
  readonly ordered: boolean;
  readonly frameTimeoutMs: number;
  /** What the stamps' checksums cover (BenchOptions.verify). */
  readonly verify: StampVerify;
  /** Called when a frame of `sender` (local index) stops being in flight: delivered or lost. */
  readonly onFree: (sender: number) => void;
}

/** The per-thread tally of a run. */
export class Tally {
  readonly counts: MutableCounts = emptyCounts();
  readonly errors = new ErrorTally();
  /** The timeline by measured second of the intended send time. */
  readonly seconds: SecondTally[] = [];
  /** Measured frames still in flight (the drain ends early when none are left). */
  measuredLive = 0;
  /** What befell the warm-up's frames; finish() reports it in `errors`. */
  readonly warmup = { lost: 0, corrupted: 0, duplicated: 0, reordered: 0 };

  private readonly tracks: SenderTrack[] = [];
  private readonly mask: number;
  private readonly reader: StampReader;
  private measureStart = Infinity;
  private measureEnd = Infinity;

  constructor(private readonly options: TallyOptions) {
    this.mask = options.capacity - 1;
    this.reader = new StampReader(options.verify);
    for (let i = 0; i < options.senders; i++) this.tracks.push(new SenderTrack(options.capacity));
  }

  /** Frames whose intended send time is in [start, end) are counted. */
  setMeasure(start: number, end: number): void {
    this.measureStart = start;
    this.measureEnd = end;
  }

  /** Shortens the measured period (abort). */
  endMeasure(end: number): void {
    if (end < this.measureEnd) this.measureEnd = end;
  }

  isMeasured(sentAt: number): boolean {
    return sentAt >= this.measureStart && sentAt < this.measureEnd;
  }

  private phaseOf(sentAt: number): number {
    return sentAt < this.measureStart ? WARMUP : sentAt < this.measureEnd ? MEASURED : AFTER;
  }

  /** Next sequence of `sender` (local index). */
  nextSequence(sender: number): number {
    return this.tracks[sender]!.next;
  }

  /** Frames of `sender` in flight. */
  inFlight(sender: number): number {
    return this.tracks[sender]!.live;
  }

  /** Whether `sender` has a free slot for its next frame (the ring is not full). */
  hasRoom(sender: number): boolean {
    const t = this.tracks[sender]!;
    return t.next - t.tail < this.options.capacity;
  }

  /** A refused send of a frame intended at `sentAt` (counted once per frame by the caller). */
  refused(sentAt: number): void {
    if (this.isMeasured(sentAt)) this.counts.refused++;
  }

  /**
   * Registers the frame `nextSequence(sender)` as handed to the driver; call only when hasRoom().
   * @param fanout deliveries expected (driver.fanout)
   */
  sent(sender: number, sentAt: number, now: number, fanout: number): void {
    const t = this.tracks[sender]!;
    const idx = t.next & this.mask;
    const phase = this.phaseOf(sentAt);
    const measured = phase === MEASURED;
    t.next++;
    if (measured) {
      this.counts.sent++;
      this.counts.expected += fanout;
    }
    if (fanout <= 0) {
      if (t.tail === t.next - 1) t.tail = t.next;
      return;
    }
    t.remaining[idx] = fanout;
    t.sentReal[idx] = now;
    t.measured[idx] = phase;
    t.live++;
    if (measured) this.measuredLive++;
  }

  /**
   * Takes back the frame just registered by sent() (the driver refused it; it will be retried
   * under the same stamp).
   */
  unsent(sender: number, sentAt: number, fanout: number): void {
    const t = this.tracks[sender]!;
    t.next--;
    if (this.isMeasured(sentAt)) {
      this.counts.sent--;
      this.counts.expected -= fanout;
    }
    if (fanout <= 0) {
      if (t.tail > t.next) t.tail = t.next;
      return;
    }
    const idx = t.next & this.mask;
    t.remaining[idx] = 0;
    t.live--;
    if (t.measured[idx] === MEASURED) this.measuredLive--;
  }

  /**
   * Classifies one delivery (driver.deliver). `payload` is only read during the call.
   * @param receiver the driver's receiver number (any number, unique per receiver)
   * @param now arrival time on benchClock()
   */
  deliver(payload: Uint8Array, receiver: number, now: number): void {
    this.deliverAt(payload, 0, payload.byteLength, receiver, now);
  }

  /** deliver() of the payload `bytes[offset, offset + length)`, read in place (no view made). */
  deliverAt(bytes: Uint8Array, offset: number, length: number, receiver: number, now: number): void {
    const r = this.reader;
    const counts = this.counts;
    if (!r.read(bytes, offset, length)) {
      if (now >= this.measureStart) counts.corrupted++;
      else this.warmup.corrupted++;
      return;
    }
    const measured = this.isMeasured(r.sentAt);
    const warmup = r.sentAt < this.measureStart;
    const sender = r.sender - this.options.senderBase;
    const t = sender >= 0 && sender < this.tracks.length ? this.tracks[sender]! : undefined;
    if (t === undefined || r.sequence >= t.next) {
      if (now >= this.measureStart) {
        counts.corrupted++;
        this.errors.add(t === undefined ? FOREIGN_SENDER : UNSENT_FRAME);
      } else this.warmup.corrupted++;
      return;
    }
    const seq = r.sequence;
    const capacity = this.options.capacity;
    let pair = t.pairs.get(receiver);
    if (pair === undefined) t.pairs.set(receiver, (pair = new PairTrack(capacity)));
    const bits = pair.bits;
    const bitMask = capacity - 1;
    if (seq >= pair.high) {
      // Sequences skipped over may arrive later: clear what their bits held a ring ago.
      if (seq - pair.high >= capacity) bits.fill(0);
      else for (let s = pair.high; s < seq; s++) bits[(s & bitMask) >>> 5] &= ~(1 << (s & 31));
      pair.high = seq + 1;
    } else if (pair.high - seq > capacity) {
      // Older than any frame in flight can be: its frame was counted lost (or delivered) long ago.
      if (now >= this.measureStart) this.errors.add(LATE_DELIVERY);
      return;
    } else {
      if ((bits[(seq & bitMask) >>> 5]! & (1 << (seq & 31))) !== 0) {
        if (measured) counts.duplicated++;
        else if (warmup) this.warmup.duplicated++;
        return;
      }
      if (this.options.ordered && measured) counts.reordered++;
      else if (this.options.ordered && warmup) this.warmup.reordered++;
    }
    bits[(seq & bitMask) >>> 5] |= 1 << (seq & 31);

    const idx = seq & this.mask;
    if (t.remaining[idx]! <= 0 || t.next - seq > capacity) {
      if (measured) this.errors.add(LATE_DELIVERY);
      return;
    }
    if (measured) {
      counts.delivered++;
      const second = this.second(r.sentAt);
      second.frames++;
      second.bytes += length;
      recordMs(second.histogram, now - r.sentAt);
    }
    if (--t.remaining[idx] === 0) this.free(t, sender, idx);
  }

  /** Counts as lost every frame handed to the driver before `now - frameTimeoutMs` and still in flight. */
  sweep(now: number): void {
    const deadline = now - this.options.frameTimeoutMs;
    for (let s = 0; s < this.tracks.length; s++) {
      const t = this.tracks[s]!;
      while (t.tail < t.next) {
        const idx = t.tail & this.mask;
        if (t.remaining[idx]! > 0) {
          if (t.sentReal[idx]! > deadline) break;
          this.lose(t.measured[idx]!, t.remaining[idx]!);
          t.remaining[idx] = 0;
          this.free(t, s, idx);
        } else t.tail++;
      }
    }
  }

  /**
   * End of the drain: every frame still in flight is lost (the warm-up's too, reported apart), and
   * what befell the warm-up's frames goes into `errors`.
   */
  finish(): void {
    for (const t of this.tracks) {
      for (let seq = t.tail; seq < t.next; seq++) {
        const idx = seq & this.mask;
        if (t.remaining[idx]! > 0) this.lose(t.measured[idx]!, t.remaining[idx]!);
        t.remaining[idx] = 0;
      }
      t.tail = t.next;
      t.live = 0;
    }
    this.measuredLive = 0;
    const w = this.warmup;
    if (w.lost > 0) this.errors.add(WARMUP_LOST, w.lost);
    if (w.corrupted > 0) this.errors.add(WARMUP_CORRUPTED, w.corrupted);
    if (w.duplicated > 0) this.errors.add(WARMUP_DUPLICATED, w.duplicated);
    if (w.reordered > 0) this.errors.add(WARMUP_REORDERED, w.reordered);
  }

  private lose(phase: number, deliveries: number): void {
    if (phase === MEASURED) this.counts.lost += deliveries;
    else if (phase === WARMUP) this.warmup.lost += deliveries;
  }

  /** The timeline entry of the measured second a frame intended at `sentAt` belongs to. */
  second(sentAt: number): SecondTally {
    const i = Math.max(0, Math.floor((sentAt - this.measureStart) / 1000));
    while (this.seconds.length <= i) this.seconds.push({ frames: 0, bytes: 0, histogram: latencyHistogram() });
    return this.seconds[i]!;
  }

  private free(t: SenderTrack, sender: number, idx: number): void {
    t.live--;
    if (t.measured[idx] === MEASURED) this.measuredLive--;
    while (t.tail < t.next && t.remaining[t.tail & this.mask] === 0) t.tail++;
    this.options.onFree(sender);
  }
}
