/**
 * `npm run bench -- core [--quick] [--only <component>]`: the five core components, native
 * against fallback, and Aead also against `node:crypto` createCipheriv per packet, at 32 B,
 * 256 B, 1400 B and 64 KiB. Inputs are built before timing (seeded). Parser cases model typical
 * socket reads: a 64 KiB read full of frames of the case's size (a 64 KiB frame arrives as 16 KiB
 * reads). Ops are frames, chunks, packets or events per second, not calls.
 *
 * Writes bench/results/core.json: `{"suite":"core","results":[{"case":"aead-seal-32B",
 * "subject":"native-batch","baseline":"node:crypto","ratio":17.9,"subjectOpsPerSec":...}]}`.
 * Native rows are left out when the addon is absent (GAMEWIRE_NATIVE=0 or no build).
 */
import Benchmark from 'benchmark';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import {
  AEAD_JOB_STRIDE,
  AEAD_NONCE_BYTES,
  AEAD_TAG_BYTES,
  ErrorCode,
  FRAME_PREFIX_BYTES,
  JointDirection,
  RING_ENTRY_STRIDE,
  fallbackFactories,
  nativeFactories,
  type CoreFactories,
} from '../src/core/index.js';
import { encodeChunkPrefix } from '../src/codec/varint.js';
import { report, type BenchRow } from './lib.js';

/** Three significant digits without binary noise (1520000, not 1520000.0000000002). */
function round3(x: number): number {
  return Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(3)) : x;
}

const SIZES: readonly [string, number][] = [
  ['32B', 32],
  ['256B', 256],
  ['1400B', 1400],
  ['64KiB', 65536],
];

/** Bytes per simulated socket read. */
const READ_BYTES = 65536;
/** A 64 KiB unit cannot fit one 64 KiB read with its header: it arrives in reads of this size. */
const BIG_READ_BYTES = 16384;
/** Packets per Aead batch call (DESIGN.md: 16 gets within 5% of the best). */
const AEAD_BATCH = 16;
/** Short runs per case, best taken (see `measure`). */
const REPEATS = 3;
/** Events pushed per poll in the ring case. */
const RING_EVENTS_PER_POLL = 100;
/** Largest joint data frame size (joint.md §2.2): a 64 KiB case is sent as frames of this size. */
const JOINT_MAX_FRAME = 32767;

interface Options {
  quick: boolean;
  only: string | undefined;
}

function parseArgs(argv: string[]): Options {
  const i = argv.indexOf('--only');
  return { quick: argv.includes('--quick'), only: i >= 0 ? argv[i + 1] : undefined };
}

function seeded(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** One timed function and how many ops (frames, packets, events) each call performs. */
interface Timed {
  name: string;
  opsPerCall: number;
  fn: () => void;
}

/**
 * Runs `Benchmark` on each timed function; returns ops/s keyed by name: the best of
 * `REPEATS` short runs, the subjects alternating in order, so a burst of load from other
 * processes on a shared machine does not land on one subject only.
 */
function measure(label: string, timed: Timed[], opts: Options): Map<string, number> {
  const result = new Map<string, number>();
  const repeats = opts.quick ? 1 : REPEATS;
  for (let round = 0; round < repeats; round++) {
    const suite = new Benchmark.Suite(label);
    const order = round % 2 === 0 ? timed : [...timed].reverse();
    for (const t of order) {
      suite.add(t.name, t.fn, { maxTime: opts.quick ? 0.05 : 0.1, minSamples: opts.quick ? 2 : 3, initCount: 1 });
    }
    suite.on('cycle', (event: Benchmark.Event) => {
      const b = event.target as unknown as Benchmark;
      const t = timed.find((x) => x.name === b.name)!;
      if (b.error) throw b.error;
      result.set(t.name, Math.max(result.get(t.name) ?? 0, (b.hz ?? 0) * t.opsPerCall));
    });
    suite.run({ async: false });
  }
  return result;
}

/** The native factories, or null when the addon is absent or its wrappers do not construct. */
function nativeOrNull(): CoreFactories | null {
  if (nativeFactories === null) return null;
  try {
    nativeFactories.frameDecoder();
    return nativeFactories;
  } catch (err) {
    process.stdout.write(`# native wrappers unavailable: ${(err as Error).message}\n`);
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Aead

function aeadRows(native: CoreFactories | null, opts: Options): BenchRow[] {
  const rows: BenchRow[] = [];
  const key = seeded(16, 1);
  const prefix = seeded(4, 2);
  for (const [label, size] of SIZES) {
    const batch = size >= 65536 ? 4 : AEAD_BATCH;
    const plain = seeded(size * batch, 3);
    const sealed = new Uint8Array((size + AEAD_TAG_BYTES) * batch);
    const opened = new Uint8Array(size * batch);
    const sealJobs = new Int32Array(batch * AEAD_JOB_STRIDE);
    for (let i = 0; i < batch; i++) {
      sealJobs.set([i * size, size, i * (size + AEAD_TAG_BYTES), 0], i * AEAD_JOB_STRIDE);
    }
    // node:crypto the plain way: a cipher object per packet, Buffers out.
    const nonce = Buffer.alloc(AEAD_NONCE_BYTES);
    prefix.forEach((b, i) => (nonce[i] = b));
    let counter = 0;
    const nodeSeal = () => {
      nonce.writeUInt32BE(counter++ >>> 0, 8);
      const c = createCipheriv('aes-128-gcm', key, nonce);
      c.update(plain.subarray(0, size));
      c.final();
      c.getAuthTag();
    };
    // A packet sealed at counter 0, opened again and again by node:crypto with that nonce.
    const fixedNonce = Buffer.from(nonce);
    fixedNonce.writeUInt32BE(0, 8);
    const one = createCipheriv('aes-128-gcm', key, fixedNonce);
    const ct = Buffer.concat([one.update(plain.subarray(0, size)), one.final()]);
    const tag = one.getAuthTag();
    const nodeOpen = () => {
      const d = createDecipheriv('aes-128-gcm', key, fixedNonce);
      d.setAuthTag(tag);
      d.update(ct);
      d.final();
    };

    const impls: [string, CoreFactories][] = [['fallback', fallbackFactories]];
    if (native) impls.push(['native', native]);
    const sealTimed: Timed[] = [{ name: 'node:crypto', opsPerCall: 1, fn: nodeSeal }];
    const openTimed: Timed[] = [{ name: 'node:crypto', opsPerCall: 1, fn: nodeOpen }];
    for (const [name, f] of impls) {
      const tx = f.aead(key, prefix);
      sealTimed.push({
        name: `${name}-single`,
        opsPerCall: 1,
        fn: () => {
          tx.seal(plain, 0, size, sealed, 0);
        },
      });
      const txb = f.aead(key, prefix);
      sealTimed.push({
        name: `${name}-batch`,
        opsPerCall: batch,
        fn: () => {
          txb.sealBatch(plain, sealed, sealJobs, batch);
        },
      });
    }
    // Opening needs packets in counter order: seal `rounds` batches in advance and open them
    // round after round; a fresh opener every `rounds` calls (its cost amortised).
    const rounds = size >= 65536 ? 8 : 64;
    const stream = new Uint8Array((size + AEAD_TAG_BYTES) * batch * rounds);
    const roundJobs: Int32Array[] = [];
    const sealer = fallbackFactories.aead(key, prefix);
    for (let r = 0; r < rounds; r++) {
      const jobs = new Int32Array(batch * AEAD_JOB_STRIDE);
      for (let i = 0; i < batch; i++) {
        const at = (r * batch + i) * (size + AEAD_TAG_BYTES);
        jobs.set([at, size + AEAD_TAG_BYTES, i * size, 0], i * AEAD_JOB_STRIDE);
        if (sealer.seal(plain, i * size, size, stream, at) < 0) throw new Error('seal failed');
      }
      roundJobs.push(jobs);
    }
    for (const [name, f] of impls) {
      let rx = f.aead(key, prefix);
      let round = 0;
      openTimed.push({
        name: `${name}-batch`,
        opsPerCall: batch,
        fn: () => {
          if (round === rounds) {
            rx = f.aead(key, prefix);
            round = 0;
          }
          if (rx.openBatch(stream, opened, roundJobs[round++]!, batch) !== batch) throw new Error(`${name} open failed`);
        },
      });
    }
    const seal = measure(`aead-seal-${label}`, sealTimed, opts);
    const open = measure(`aead-open-${label}`, openTimed, opts);
    for (const [cases, m, timed] of [
      [`aead-seal-${label}`, seal, sealTimed],
      [`aead-open-${label}`, open, openTimed],
    ] as const) {
      const base = m.get('node:crypto')!;
      for (const t of timed) {
        if (t.name === 'node:crypto') continue;
        const ops = m.get(t.name)!;
        rows.push({
          case: cases,
          subject: t.name,
          baseline: 'node:crypto',
          ratio: ops / base,
          subjectOpsPerSec: round3(ops),
          baselineOpsPerSec: round3(base),
          subjectMBps: round3((ops * size) / 1e6),
        });
      }
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Stream parsers: one read after another, each fed whole, as a socket handler does.

/** Cut a stream into reads of `readBytes`. */
function reads(stream: Uint8Array, readBytes: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < stream.length; at += readBytes) out.push(stream.subarray(at, Math.min(stream.length, at + readBytes)));
  return out;
}

interface StreamCase {
  /** Reads of one round (the parser's state carries across rounds: the stream is whole units). */
  reads: Uint8Array[];
  /** Units (frames/chunks) per round. */
  units: number;
}

function jointCase(size: number): StreamCase {
  // Owner → relay unicast frames (`size, jOwn+128, userNr, data`), at most 32767 each
  // (joint.md §2.5): a 64 KiB message goes as three frames, and two messages are sent.
  const parts: Uint8Array[] = [];
  const data = seeded(JOINT_MAX_FRAME - 2, 5);
  const addFrame = (n: number) => {
    const body = n + 2;
    const head = body < 128 ? [body] : [(body >> 8) + 0x80, body & 0xff];
    const f = new Uint8Array(head.length + body);
    f.set(head, 0);
    f[head.length] = 0x80;
    f[head.length + 1] = 1;
    f.set(data.subarray(0, n), head.length + 2);
    parts.push(f);
    return f.length;
  };
  if (size >= 65536) {
    for (let m = 0; m < 2; m++) for (let left = size; left > 0; left -= JOINT_MAX_FRAME - 2) addFrame(Math.min(left, JOINT_MAX_FRAME - 2));
  } else {
    const per = size + 2 + (size + 2 < 128 ? 1 : 2);
    for (let total = 0; total + per <= READ_BYTES; ) total += addFrame(size);
  }
  const stream = Uint8Array.from(Buffer.concat(parts));
  return { reads: reads(stream, size >= 65536 ? BIG_READ_BYTES : READ_BYTES), units: parts.length };
}

function frameCase(size: number): StreamCase {
  const per = FRAME_PREFIX_BYTES + size;
  const count = size >= 65536 ? 2 : Math.floor(READ_BYTES / per);
  const stream = new Uint8Array(per * count);
  const body = seeded(size, 6);
  for (let i = 0; i < count; i++) {
    new DataView(stream.buffer).setUint32(i * per, size, true);
    stream.set(body, i * per + FRAME_PREFIX_BYTES);
  }
  return { reads: reads(stream, size >= 65536 ? BIG_READ_BYTES : READ_BYTES), units: count };
}

function chunkCase(size: number, prefixBytes: number): StreamCase {
  const prefix = new Uint8Array(4);
  const p = encodeChunkPrefix(size, prefixBytes, prefix, 0);
  const per = p + size;
  const count = size >= 65536 ? 2 : Math.floor(READ_BYTES / per);
  const stream = new Uint8Array(per * count);
  const body = seeded(size, 7);
  for (let i = 0; i < count; i++) {
    stream.set(prefix.subarray(0, p), i * per);
    stream.set(body, i * per + p);
  }
  return { reads: reads(stream, size >= 65536 ? BIG_READ_BYTES : READ_BYTES), units: count };
}

type Feeder = (read: Uint8Array) => void;

/** A timed round: every read of the case through `feed`. */
function streamTimed(name: string, c: StreamCase, feed: Feeder): Timed {
  const rs = c.reads;
  return {
    name,
    opsPerCall: c.units,
    fn: () => {
      for (let i = 0; i < rs.length; i++) feed(rs[i]!);
    },
  };
}

function parserRows(native: CoreFactories | null, opts: Options, component: string): BenchRow[] {
  const rows: BenchRow[] = [];
  const impls: [string, CoreFactories][] = [['fallback', fallbackFactories]];
  if (native) impls.push(['native', native]);
  for (const [label, size] of SIZES) {
    const timed: Timed[] = [];
    let caseName = '';
    let bytesPerRound = 0;
    for (const [name, f] of impls) {
      let c: StreamCase;
      let feed: Feeder;
      if (component === 'joint-parser') {
        caseName = `joint-parser-feed-${label}`;
        c = jointCase(size);
        const p = f.jointParser({ direction: JointDirection.ToRelay });
        feed = (r) => {
          let off = 0;
          while (off < r.length) {
            p.feed(r, off, r.length - off);
            if (p.error !== ErrorCode.Ok) throw new Error(`joint parser error ${p.error}`);
            off += p.consumed;
          }
        };
      } else if (component === 'frame-decoder') {
        caseName = `frame-decoder-feed-${label}`;
        c = frameCase(size);
        const d = f.frameDecoder({ maxFrameBytes: 65536 });
        feed = (r) => {
          let off = 0;
          while (off < r.length) {
            d.feed(r, off, r.length - off);
            if (d.error !== ErrorCode.Ok) throw new Error(`frame decoder error ${d.error}`);
            off += d.consumed;
          }
        };
      } else {
        caseName = `chunk-assembler-feed-${label}`;
        const maxChunkBytes = size >= 65536 ? 65536 : 32768;
        const a = f.chunkAssembler({ maxChunkBytes, maxStreams: 16 });
        c = chunkCase(size, a.prefixBytes);
        feed = (r) => {
          let off = 0;
          while (off < r.length) {
            a.feed(3, r, off, r.length - off);
            if (a.error !== ErrorCode.Ok) throw new Error(`chunk assembler error ${a.error}`);
            off += a.consumed;
          }
        };
      }
      bytesPerRound = c.reads.reduce((s, r) => s + r.length, 0);
      timed.push(streamTimed(name, c, feed));
    }
    const m = measure(caseName, timed, opts);
    const base = m.get('fallback')!;
    const units = timed[0]!.opsPerCall;
    const mbps = (ops: number) => round3(((ops / units) * bytesPerRound) / 1e6);
    if (native) {
      const ops = m.get('native')!;
      rows.push({ case: caseName, subject: 'native', baseline: 'fallback', ratio: ops / base, subjectOpsPerSec: round3(ops), baselineOpsPerSec: round3(base), subjectMBps: mbps(ops), baselineMBps: mbps(base) });
    } else {
      rows.push({ case: caseName, subject: 'fallback', baseline: 'fallback', ratio: 1, subjectOpsPerSec: round3(base), baselineOpsPerSec: round3(base), subjectMBps: mbps(base), note: 'addon absent' });
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// EventRing: a burst of pushes then one poll, as a server tick does.

function ringRows(native: CoreFactories | null, opts: Options): BenchRow[] {
  const rows: BenchRow[] = [];
  const impls: [string, CoreFactories][] = [['fallback', fallbackFactories]];
  if (native) impls.push(['native', native]);
  for (const [label, size] of SIZES) {
    const payload = seeded(size, 8);
    const meta = new Float64Array(RING_EVENTS_PER_POLL * RING_ENTRY_STRIDE);
    for (let i = 0; i < RING_EVENTS_PER_POLL; i++) meta.set([2, i, 1000 + i, 0, size], i * RING_ENTRY_STRIDE);
    const timed: Timed[] = [];
    for (const [name, f] of impls) {
      const ring = f.eventRing();
      timed.push({
        name: `${name}-push`,
        opsPerCall: RING_EVENTS_PER_POLL,
        fn: () => {
          for (let i = 0; i < RING_EVENTS_PER_POLL; i++) ring.push(2, i, 1000 + i, payload, 0, size);
          if (ring.poll() !== RING_EVENTS_PER_POLL) throw new Error('ring lost events');
        },
      });
      const ringB = f.eventRing();
      timed.push({
        name: `${name}-batch`,
        opsPerCall: RING_EVENTS_PER_POLL,
        fn: () => {
          ringB.pushBatch(meta, RING_EVENTS_PER_POLL, payload);
          if (ringB.poll() !== RING_EVENTS_PER_POLL) throw new Error('ring lost events');
        },
      });
    }
    const m = measure(`event-ring-${label}`, timed, opts);
    for (const op of ['push', 'batch']) {
      const caseName = `event-ring-${op === 'push' ? 'push-poll' : 'batch-poll'}-${label}`;
      const base = m.get(`fallback-${op}`)!;
      if (native) {
        const ops = m.get(`native-${op}`)!;
        rows.push({ case: caseName, subject: 'native', baseline: 'fallback', ratio: ops / base, subjectOpsPerSec: round3(ops), baselineOpsPerSec: round3(base) });
      } else {
        rows.push({ case: caseName, subject: 'fallback', baseline: 'fallback', ratio: 1, subjectOpsPerSec: round3(base), baselineOpsPerSec: round3(base), note: 'addon absent' });
      }
    }
  }
  return rows;
}

/** Which implementation is faster per component, from the rows (geometric mean of ratios). */
function verdicts(rows: BenchRow[]): Record<string, { native: 'faster' | 'slower' | 'absent'; meanRatio: number }> {
  const out: Record<string, { native: 'faster' | 'slower' | 'absent'; meanRatio: number }> = {};
  const groups = new Map<string, number[]>();
  for (const r of rows) {
    const component = r.case.replace(/-(seal|open|feed|push-poll|batch-poll)-.*$/, '');
    if (r.subject !== 'native' && r.subject !== 'native-batch') continue;
    if (!groups.has(component)) groups.set(component, []);
    groups.get(component)!.push(r.ratio);
  }
  for (const [component, ratios] of groups) {
    const mean = Math.exp(ratios.reduce((s, x) => s + Math.log(x), 0) / ratios.length);
    out[component] = { native: mean > 1 ? 'faster' : 'slower', meanRatio: round3(mean) };
  }
  return out;
}

/** Run the suite, print the table and write bench/results/core.json. */
export async function run(argv: string[] = process.argv.slice(2)): Promise<BenchRow[]> {
  const opts = parseArgs(argv);
  const native = process.env.GAMEWIRE_NATIVE === '0' ? null : nativeOrNull();
  const started = Date.now();
  const want = (c: string) => opts.only === undefined || opts.only === c;
  const rows: BenchRow[] = [];
  if (want('aead')) rows.push(...aeadRows(native, opts));
  for (const c of ['joint-parser', 'frame-decoder', 'chunk-assembler']) if (want(c)) rows.push(...parserRows(native, opts, c));
  if (want('event-ring')) rows.push(...ringRows(native, opts));
  const v = verdicts(rows);
  report('core', rows, {
    implementations: { native: native !== null, fallback: true },
    seconds: Math.round((Date.now() - started) / 1000),
    ...(native ? { nativeVsFallback: v } : {}),
  });
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
