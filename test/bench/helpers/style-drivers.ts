/**
 * Driving the mm, udp and events bench drivers by hand, as the engine does: options with every
 * default resolved, a DriverContext, payloads stamped with (sender, sequence) and a filler
 * derived from both, and a collector of what the driver delivers. The relay driver's test takes
 * the options, context and waits from here too.
 */
import { expect } from 'vitest';
import type { BenchDriver, BenchKind, BenchMode, DriverContext, ResolvedBenchOptions } from '../../../src/bench/types.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `predicate` holds; false after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 4000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

export function benchOptions(kind: BenchKind, mode: BenchMode, port: number, o: Partial<ResolvedBenchOptions> = {}): ResolvedBenchOptions {
  return {
    kind,
    host: '127.0.0.1',
    port,
    mode,
    users: 4,
    joints: 1,
    size: { min: 24, max: 300 },
    ws: false,
    key: null,
    token: null,
    window: 16,
    rate: null,
    durationSec: 1,
    warmupSec: 0,
    drainMs: 1000,
    frameTimeoutMs: 5000,
    workers: 0,
    connectTimeoutMs: 3000,
    verify: 'full',
    ...o,
  };
}

export function driverContext(options: ResolvedBenchOptions, worker = 0, workers = 0, senderBase = 0): DriverContext {
  return { options, worker, workers, senderBase };
}

/** A payload of `size` bytes (at least 8): u32 sender, u32 sequence, then a filler of both. */
export function stamped(sender: number, sequence: number, size: number): Uint8Array {
  const b = Buffer.alloc(size);
  b.writeUInt32LE(sender, 0);
  b.writeUInt32LE(sequence, 4);
  for (let i = 8; i < size; i++) b[i] = (i * 31 + sender * 7 + sequence) & 0xff;
  return b;
}

/** One delivery as the test sees it. */
export interface Delivery {
  sender: number;
  sequence: number;
  receiver: number;
  intact: boolean;
  size: number;
}

export function readStamped(payload: Uint8Array): { sender: number; sequence: number; intact: boolean } {
  if (payload.length < 8) return { sender: -1, sequence: -1, intact: false };
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const sender = b.readUInt32LE(0);
  const sequence = b.readUInt32LE(4);
  let intact = true;
  for (let i = 8; i < b.length; i++) if (b[i] !== ((i * 31 + sender * 7 + sequence) & 0xff)) intact = false;
  return { sender, sequence, intact };
}

/** Records every delivery and failure of `driver` (sets its deliver and fail). */
export class Collector {
  readonly deliveries: Delivery[] = [];
  readonly failures: string[] = [];

  constructor(driver: BenchDriver) {
    driver.deliver = (payload, receiver) => {
      const { sender, sequence, intact } = readStamped(payload);
      this.deliveries.push({ sender, sequence, receiver, intact, size: payload.length });
    };
    driver.fail = (error) => {
      this.failures.push(error.message);
    };
  }
}

/**
 * Sends `perSender` frames from each sender of `driver`, sizes drawn from `sizes` in turn, the
 * sender stamped with its global id `senderBase + s`; retries refused sends every millisecond.
 * @returns the sizes sent, by global sender id and sequence
 */
export async function sendFrames(driver: BenchDriver, senderBase: number, perSender: number, sizes: readonly number[]): Promise<Map<string, number>> {
  const sent = new Map<string, number>();
  for (let q = 0; q < perSender; q++) {
    for (let s = 0; s < driver.senders; s++) {
      const size = sizes[(q + s) % sizes.length]!;
      const payload = stamped(senderBase + s, q, size);
      const deadline = Date.now() + 3000;
      while (!driver.send(s, payload)) {
        if (Date.now() > deadline) throw new Error(`sender ${s} refused frame ${q} for 3 s`);
        await sleep(1);
      }
      sent.set(`${senderBase + s}:${q}`, size);
    }
  }
  return sent;
}

/**
 * Waits for every frame in `sent` (from `sendFrames`) to come back, then checks that each came
 * back once, intact, to its own sender, and that nothing failed: the echo-style contract of the
 * udp and events drivers (fanout 1, order not promised).
 */
export async function expectEachBackOnce(got: Collector, sent: Map<string, number>): Promise<void> {
  expect(await until(() => got.deliveries.length >= sent.size)).toBe(true);
  expect(got.failures).toEqual([]);
  expect(got.deliveries.length).toBe(sent.size);
  const seen = new Set<string>();
  for (const g of got.deliveries) {
    expect(g.intact).toBe(true);
    expect(g.receiver).toBe(g.sender);
    expect(g.size).toBe(sent.get(`${g.sender}:${g.sequence}`));
    expect(seen.has(`${g.sender}:${g.sequence}`)).toBe(false);
    seen.add(`${g.sender}:${g.sequence}`);
  }
}

/** Active handles of one kind ('UDPWrap', 'TCPSocketWrap', 'Timeout'...), for leak checks. */
export function handles(kind: string): number {
  return process.getActiveResourcesInfo().filter((r) => r === kind).length;
}
