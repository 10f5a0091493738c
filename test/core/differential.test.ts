/**
 * Differential property tests: the same random streams, split at random points and fed at
 * random offsets, go to the native wrapper and the TypeScript twin of each component; every
 * result must agree (units, consumed, error, carry bytes, sealed bytes, counters, polled
 * entries, arena bytes). Skipped when the addon is not loaded (e.g. GAMEWIRE_NATIVE=0).
 *
 * fast-check draws each case's parameters and a seed; the seed drives a small PRNG that builds
 * the stream (mostly well-formed units with some damage, so deep states and every error path
 * are reached), which keeps a case cheap enough for 100k runs. `DIFF_RUNS` sets the cases per
 * component (default 150, a few seconds in `npm test`):
 *
 *   DIFF_RUNS=100000 node_modules/.bin/vitest run test/core/differential.test.ts
 */
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import {
  AEAD_JOB_STRIDE,
  AEAD_MAX_COUNTER,
  CHUNK_UNIT_STRIDE,
  FRAME_UNIT_STRIDE,
  JOINT_UNIT_STRIDE,
  RING_ENTRY_STRIDE,
  UnitFlag,
  fallbackFactories,
  nativeFactories,
  AeadJs,
  AeadNative,
  type Aead,
  type ChunkAssembler,
  type FrameDecoder,
  type JointParser,
  type EventRing,
} from '../../src/core/index.js';
import { varintMax } from '../../src/core/varint.js';
import { Prng } from '../helpers/prng.js';

const RUNS = Math.max(1, Number(process.env.DIFF_RUNS ?? 150) | 0);
/** Per-test timeout: generous for big DIFF_RUNS, bounded by default. */
const TIMEOUT_MS = Math.max(20_000, RUNS * 5);

const native = nativeFactories;
const fallback = fallbackFactories;

/**
 * A length biased to small values, sometimes up to `max`. Every draw comes from a Prng seeded by
 * fast-check, so a failing case replays from its seed.
 */
function biasedSize(r: Prng, max: number): number {
  const x = r.next();
  if (x < 0.6) return r.range(0, Math.min(max, 16));
  if (x < 0.9) return r.range(0, Math.min(max, 300));
  return r.range(0, max);
}

/** Random cut points of `length`, as piece lengths (some empty, some tiny, some whole). */
function pieces(r: Prng, length: number): number[] {
  const out: number[] = [];
  let left = length;
  while (left > 0) {
    const mode = r.next();
    const n = mode < 0.1 ? 0 : mode < 0.4 ? r.range(1, 3) : mode < 0.8 ? r.range(1, 64) : r.range(1, left);
    const take = Math.min(n, left);
    out.push(take);
    left -= take;
  }
  if (r.chance(0.2)) out.push(0);
  return out;
}

/** `bytes` inside a larger buffer at a random offset, with junk around it. */
function placed(r: Prng, bytes: Uint8Array): { buf: Uint8Array; offset: number } {
  const before = r.chance(0.5) ? 0 : r.range(1, 9);
  const after = r.chance(0.5) ? 0 : r.range(1, 9);
  const buf = new Uint8Array(before + bytes.length + after).fill(0xee);
  buf.set(bytes, before);
  return { buf, offset: before };
}

/** Coverage counters, printed with DIFF_STATS=1: that the streams reach carries and every error. */
const stats: Record<string, number> = {};
let component = '';
function tally(key: string, n = 1): void {
  stats[`${component} ${key}`] = (stats[`${component} ${key}`] ?? 0) + n;
}
afterAll(() => {
  if (process.env.DIFF_STATS) console.log(JSON.stringify(stats, null, 1));
});

function fail(what: string): never {
  throw new Error(`native and fallback differ: ${what}`);
}

function sameBytes(what: string, a: Uint8Array, b: Uint8Array): void {
  if (a.length !== b.length) fail(`${what}: length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) fail(`${what}: byte ${i} ${a[i]} vs ${b[i]}`);
}

interface FeedResult {
  units: Int32Array;
  consumed: number;
  error: number;
  carry(): Uint8Array;
}

/** Compare one feed's results: count, every unit slot, consumed, error, carried bytes. */
function sameFeed(what: string, na: FeedResult, nCount: number, fa: FeedResult, fCount: number, stride: number, flagsSlot: number, offsetSlot: number): void {
  if (nCount !== fCount) fail(`${what}: count ${nCount} vs ${fCount}`);
  tally('units', nCount);
  if (na.error !== 0) tally(`error ${na.error}`);
  if (na.consumed !== fa.consumed) fail(`${what}: consumed ${na.consumed} vs ${fa.consumed}`);
  if (na.error !== fa.error) fail(`${what}: error ${na.error} vs ${fa.error}`);
  for (let i = 0; i < nCount * stride; i++) {
    if (na.units[i] !== fa.units[i]) fail(`${what}: unit ${Math.floor(i / stride)} slot ${i % stride}: ${na.units[i]} vs ${fa.units[i]}`);
  }
  for (let u = 0; u < nCount; u++) {
    const base = u * stride;
    if ((na.units[base + flagsSlot]! & UnitFlag.InCarry) === 0) continue;
    const off = na.units[base + offsetSlot]!;
    const len = na.units[base + offsetSlot + 1]!;
    tally('carried');
    sameBytes(`${what}: carry of unit ${u}`, na.carry().subarray(off, off + len), fa.carry().subarray(off, off + len));
  }
}

/**
 * Feed `stream` in random pieces to both, refeeding the rest when units fill up (as a socket
 * reader does), comparing after every call. After an error: one more feed (sticky), then reset.
 */
function feedBoth(
  r: Prng,
  stream: Uint8Array,
  n: FeedResult & { feed(b: Uint8Array, o: number, l: number): number; reset?(): void },
  f: FeedResult & { feed(b: Uint8Array, o: number, l: number): number; reset?(): void },
  stride: number,
  flagsSlot: number,
  offsetSlot: number,
): void {
  let at = 0;
  for (const len of pieces(r, stream.length)) {
    const { buf, offset } = placed(r, stream.subarray(at, at + len));
    at += len;
    let off = 0;
    for (let guard = 0; guard < 100_000; guard++) {
      const nc = n.feed(buf, offset + off, len - off);
      const fc2 = f.feed(buf, offset + off, len - off);
      sameFeed(`feed at ${at - len + off}`, n, nc, f, fc2, stride, flagsSlot, offsetSlot);
      if (n.error !== 0) {
        const again = [n.feed(buf, offset, len), f.feed(buf, offset, len)];
        if (again[0] !== 0 || again[1] !== 0 || n.error !== f.error || n.consumed !== f.consumed) fail('sticky error');
        if (!n.reset || !f.reset || r.chance(0.5)) return;
        n.reset();
        f.reset();
        if (n.error !== f.error || n.consumed !== f.consumed) fail('after reset');
        break;
      }
      off += n.consumed;
      if (off >= len) break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Stream builders

function jointFrame(r: Prng, out: number[], ownOnly: boolean, mode: number): void {
  const own = ownOnly ? !r.chance(0.03) : r.chance(0.4);
  const r0 = own ? r.range(128, 255) : r.range(0, 127);
  const header = [r0];
  if (r0 >= 128 && mode !== 1) header.push(r.range(0, 255));
  const data = r.bytes(biasedSize(r, 2000));
  let size = header.length + data.length;
  if (r.chance(0.03)) size = r.range(0, 3); // wrong sizes: 0/1 are errors, others reframe the stream
  if (size >= 2 && size <= 127 && !r.chance(0.15)) out.push(size);
  else out.push(0x80 | ((size >> 8) & 0x7f), size & 0xff);
  out.push(...header, ...data);
}

function jointStream(r: Prng, toClient: boolean): Uint8Array {
  const out: number[] = [];
  const target = r.chance(0.2) ? r.range(0, 20) : r.range(0, 3000);
  while (out.length < target) {
    const k = r.next();
    if (k < 0.5) {
      jointFrame(r, out, false, -1);
    } else if (k < 0.75) {
      if (toClient) {
        const len = r.range(0, 255);
        out.push(0, len, ...r.bytes(r.chance(0.97) ? len : r.range(0, len)));
      } else {
        const cmd = r.chance(0.97) ? r.range(0, 4) : r.range(5, 255);
        let len = cmd === 2 || cmd === 3 ? 1 : cmd === 4 ? 2 : r.range(0, 255);
        if (r.chance(0.05)) len = r.range(0, 255);
        out.push(0, cmd, r.range(0, 255), len, ...r.bytes(len));
      }
    } else if (k < 0.92 && !toClient) {
      const mode = r.chance(0.97) ? r.range(0, 1) : r.range(2, 255);
      out.push(1, mode);
      if (r.chance(0.03)) out.push(r.range(0, 1));
      jointFrame(r, out, true, mode);
    } else {
      out.push(...r.bytes(r.range(1, 6)));
    }
  }
  return Uint8Array.from(out);
}

function frameStream(r: Prng, maxFrameBytes: number): Uint8Array {
  const out: number[] = [];
  const target = r.chance(0.2) ? r.range(0, 20) : r.range(0, 4000);
  while (out.length < target) {
    let len = r.chance(0.9) ? r.range(1, Math.min(maxFrameBytes, r.chance(0.8) ? 64 : 3000)) : r.range(0, maxFrameBytes + 10);
    if (r.chance(0.005)) len = 0xffffffff - r.range(0, 3);
    out.push(len & 0xff, (len >>> 8) & 0xff, (len >>> 16) & 0xff, len >>> 24);
    out.push(...r.bytes(Math.min(len, 5000)));
  }
  return Uint8Array.from(out);
}

function chunkStream(r: Prng, n: number, maxChunkBytes: number): Uint8Array {
  const out: number[] = [];
  const target = r.chance(0.2) ? r.range(0, 20) : r.range(0, 4000);
  const limit = varintMax(n) + 1;
  while (out.length < target) {
    const len = r.chance(0.93) ? r.range(1, Math.min(maxChunkBytes, r.chance(0.8) ? 64 : 3000)) : r.range(1, Math.min(limit, maxChunkBytes + 40));
    // varint of len - 1 (joint.md §10.1), shortest form, sometimes with a zero continuation byte
    let v = len - 1;
    const prefix: number[] = [];
    for (let i = 0; i < n - 1 && v > 0x7f; i++) {
      prefix.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    prefix.push(v & 0xff);
    if (r.chance(0.02) && prefix.length < n) {
      prefix[prefix.length - 1]! |= 0x80;
      prefix.push(0);
    }
    out.push(...prefix, ...r.bytes(Math.min(len, 5000)));
  }
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------------------------------------

const caseArb = fc.record({
  seed: fc.integer({ min: 0, max: 0xffffffff }),
  maxUnits: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(1024)),
});

describe.runIf(native !== null)('differential: native vs fallback', () => {
  it(`JointParser, ${RUNS} random streams, both directions`, { timeout: TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom(0, 1), ({ seed, maxUnits }, direction) => {
        component = 'joint';
        const r = new Prng(seed);
        const opts = { direction: direction as 0 | 1, maxUnits };
        const n: JointParser = native!.jointParser(opts);
        const f: JointParser = fallback.jointParser(opts);
        feedBoth(r, jointStream(r, direction === 1), n, f, JOINT_UNIT_STRIDE, 1, 4);
      }),
      { numRuns: RUNS },
    );
  });

  it(`FrameDecoder, ${RUNS} random streams`, { timeout: TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(caseArb, fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constant(65536)), ({ seed, maxUnits }, maxFrameBytes) => {
        component = 'frame';
        const r = new Prng(seed);
        const n: FrameDecoder = native!.frameDecoder({ maxFrameBytes, maxUnits });
        const f: FrameDecoder = fallback.frameDecoder({ maxFrameBytes, maxUnits });
        feedBoth(r, frameStream(r, maxFrameBytes), n, f, FRAME_UNIT_STRIDE, 0, 1);
      }),
      { numRuns: RUNS },
    );
  });

  it(`ChunkAssembler, ${RUNS} random interleavings of streams`, { timeout: TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), ({ seed, maxUnits }, prefixBytes, streams) => {
        component = 'chunk';
        const r = new Prng(seed);
        const limit = varintMax(prefixBytes) + 1;
        const maxChunkBytes = r.chance(0.5) ? Math.min(limit, r.range(1, 400)) : Math.min(limit, 32768);
        const opts = { maxChunkBytes, prefixBytes, maxStreams: streams, maxUnits };
        const n: ChunkAssembler = native!.chunkAssembler(opts);
        const f: ChunkAssembler = fallback.chunkAssembler(opts);
        const data = Array.from({ length: streams }, () => chunkStream(r, prefixBytes, maxChunkBytes));
        const cursor = new Array<number>(streams).fill(0);
        // Round-robin random pieces of each stream, as reads from several peers arrive.
        for (let guard = 0; guard < 100_000 && cursor.some((c, s) => c < data[s]!.length); guard++) {
          const s = r.range(0, streams - 1);
          if (r.chance(0.02)) {
            n.dropStream(s);
            f.dropStream(s);
            cursor[s] = data[s]!.length; // the peer is gone
            continue;
          }
          const len = Math.min(data[s]!.length - cursor[s]!, r.chance(0.3) ? r.range(0, 3) : r.range(0, 200));
          const { buf, offset } = placed(r, data[s]!.subarray(cursor[s]!, cursor[s]! + len));
          const nc = n.feed(s, buf, offset, len);
          const fc2 = f.feed(s, buf, offset, len);
          sameFeed(`stream ${s} at ${cursor[s]}`, n, nc, f, fc2, CHUNK_UNIT_STRIDE, 0, 1);
          cursor[s]! += n.error !== 0 ? len : n.consumed;
        }
      }),
      { numRuns: RUNS },
    );
  });

  it(`Aead, ${RUNS} random sequences of seal/open/batch`, { timeout: TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.constantFrom(16, 32),
        fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 + 5 }), fc.integer({ min: AEAD_MAX_COUNTER - 6, max: AEAD_MAX_COUNTER })),
        (seed, keyBytes, start) => {
          component = 'aead';
          const r = new Prng(seed);
          const key = r.bytes(keyBytes);
          const prefix = r.bytes(4);
          const mk = (Ctor: typeof AeadJs | typeof AeadNative): [Aead, Aead] => [new Ctor(key, prefix, start), new Ctor(key, prefix, start)];
          const [ntx, nrx] = mk(AeadNative);
          const [ftx, frx] = mk(AeadJs);
          const ops = r.range(1, 12);
          for (let op = 0; op < ops; op++) {
            const kind = r.range(0, 3);
            if (kind <= 1) {
              // seal then open one packet, sometimes tampered, sometimes in place
              const len = biasedSize(r, 1500);
              const msg = r.bytes(len);
              const inPlace = r.chance(0.2);
              const nOut = new Uint8Array(len + 16 + 4);
              const fOut = new Uint8Array(len + 16 + 4);
              let a: number;
              let b: number;
              if (inPlace) {
                nOut.set(msg, 2);
                fOut.set(msg, 2);
                a = ntx.seal(nOut, 2, len, nOut, 2);
                b = ftx.seal(fOut, 2, len, fOut, 2);
              } else {
                a = ntx.seal(msg, 0, len, nOut, 2);
                b = ftx.seal(msg, 0, len, fOut, 2);
              }
              if (a !== b) fail(`seal result ${a} vs ${b}`);
              sameBytes('sealed', nOut, fOut);
              if (ntx.counter !== ftx.counter) fail('tx counter');
              const wire = nOut.slice();
              if (r.chance(0.2) && a > 0) wire[2 + r.range(0, a - 1)]! ^= 1 << r.range(0, 7);
              const cut = r.chance(0.05) ? r.range(0, Math.max(0, a)) : Math.max(0, a);
              const nPlain = new Uint8Array(Math.max(0, cut - 16) + 3).fill(7);
              const fPlain = nPlain.slice();
              const c = nrx.open(wire, 2, cut, nPlain, 1);
              const d = frx.open(wire, 2, cut, fPlain, 1);
              if (c !== d) fail(`open result ${c} vs ${d}`);
              tally(`open ${c < 0 ? c : 'ok'}`);
              sameBytes('opened', nPlain, fPlain);
              if (nrx.counter !== frx.counter) fail('rx counter');
            } else {
              // a batch of jobs in one buffer, sealed then opened (sometimes one tampered)
              const count = r.range(0, 6);
              const lens = Array.from({ length: count }, () => biasedSize(r, 300));
              const input = r.bytes(lens.reduce((s, l) => s + l, 0) + 3);
              const sealedSize = lens.reduce((s, l) => s + l + 16, 0) + 5;
              const jobs = new Int32Array(count * AEAD_JOB_STRIDE + AEAD_JOB_STRIDE);
              let i0 = 1;
              let o0 = 2;
              for (let j = 0; j < count; j++) {
                jobs.set([i0, lens[j]!, o0, 0], j * AEAD_JOB_STRIDE);
                i0 += lens[j]!;
                o0 += lens[j]! + 16;
              }
              const nJobs = jobs.slice();
              const fJobs = jobs.slice();
              const nSealed = new Uint8Array(sealedSize);
              const fSealed = new Uint8Array(sealedSize);
              const a = ntx.sealBatch(input, nSealed, nJobs, count);
              const b = ftx.sealBatch(input, fSealed, fJobs, count);
              if (a !== b) fail(`sealBatch ${a} vs ${b}`);
              sameBytes('sealBatch output', nSealed, fSealed);
              sameBytes('sealBatch jobs', new Uint8Array(nJobs.buffer), new Uint8Array(fJobs.buffer));
              const openJobs = new Int32Array(jobs.length);
              let p = 0;
              for (let j = 0; j < count; j++) {
                openJobs.set([jobs[j * AEAD_JOB_STRIDE + 2]!, lens[j]! + 16, p, 0], j * AEAD_JOB_STRIDE);
                p += lens[j]!;
              }
              const wire = nSealed.slice();
              if (count > 0 && r.chance(0.2)) wire[r.range(2, sealedSize - 4)]! ^= 0x40;
              const nO = openJobs.slice();
              const fO = openJobs.slice();
              const nPlain = new Uint8Array(p + 2);
              const fPlain = new Uint8Array(p + 2);
              const c = nrx.openBatch(wire, nPlain, nO, count);
              const d = frx.openBatch(wire, fPlain, fO, count);
              if (c !== d) fail(`openBatch ${c} vs ${d}`);
              tally(c === count ? 'openBatch whole' : 'openBatch stopped');
              sameBytes('openBatch output', nPlain, fPlain);
              sameBytes('openBatch jobs', new Uint8Array(nO.buffer), new Uint8Array(fO.buffer));
              if (ntx.counter !== ftx.counter || nrx.counter !== frx.counter) fail('batch counters');
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`EventRing, ${RUNS} random sequences of push/pushBatch/poll`, { timeout: TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 400 }), (seed, capacity, arenaBytes) => {
        component = 'ring';
        const r = new Prng(seed);
        const n: EventRing = native!.eventRing({ capacity, arenaBytes });
        const f: EventRing = fallback.eventRing({ capacity, arenaBytes });
        const ops = r.range(1, 60);
        const value = (): number => (r.chance(0.8) ? r.range(-5, 1e6) : r.chance(0.5) ? r.next() * 1e12 : [Number.NaN, Infinity, -0.5][r.range(0, 2)]!);
        for (let op = 0; op < ops; op++) {
          const k = r.next();
          if (k < 0.6) {
            const len = r.chance(0.1) ? r.range(0, arenaBytes + 20) : biasedSize(r, Math.max(1, Math.floor(arenaBytes / 3)));
            const fromArena = r.chance(0.1) && len <= arenaBytes;
            const payload = fromArena ? null : placed(r, r.bytes(len));
            const kind = r.range(-3, 2 ** 31 - 1);
            const peer = value();
            const ts = value();
            const off = fromArena ? r.range(0, arenaBytes - len) : payload!.offset;
            const a = n.push(kind, peer, ts, fromArena ? n.arena : payload!.buf, off, len);
            const b = f.push(kind, peer, ts, fromArena ? f.arena : payload!.buf, off, len);
            if (a !== b) fail(`push ${a} vs ${b}`);
            tally(a < 0 ? `push ${a}` : a > 0 ? 'push dropped' : 'push');
          } else if (k < 0.8) {
            const count = r.range(0, 5);
            const meta = new Float64Array(count * RING_ENTRY_STRIDE);
            const payloads = r.bytes(r.range(0, arenaBytes + 30));
            for (let i = 0; i < count; i++) {
              const len = r.range(0, payloads.length);
              meta.set([r.range(0, 9), value(), value(), r.range(0, payloads.length - len), len], i * RING_ENTRY_STRIDE);
            }
            const a = n.pushBatch(meta, count, payloads);
            const b = f.pushBatch(meta, count, payloads);
            if (a !== b) fail(`pushBatch ${a} vs ${b}`);
          } else {
            const a = n.poll();
            const b = f.poll();
            if (a !== b) fail(`poll ${a} vs ${b}`);
            tally('polled', a);
            for (let i = 0; i < a * RING_ENTRY_STRIDE; i++) {
              if (!Object.is(n.polled[i], f.polled[i])) fail(`polled slot ${i}: ${n.polled[i]} vs ${f.polled[i]}`);
            }
            for (let e = 0; e < a; e++) {
              const off = n.polled[e * RING_ENTRY_STRIDE + 3]!;
              const len = n.polled[e * RING_ENTRY_STRIDE + 4]!;
              sameBytes(`payload of entry ${e}`, n.arena.subarray(off, off + len), f.arena.subarray(off, off + len));
            }
          }
          if (n.size !== f.size || n.dropped !== f.dropped) fail(`size/dropped ${n.size}/${n.dropped} vs ${f.size}/${f.dropped}`);
          sameBytes('arena', n.arena, f.arena);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
