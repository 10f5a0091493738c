/**
 * Fuzz targets for the five core components. Each `run` is a pure function of its input: the
 * first byte picks options where a component has some, a hash of the input picks how the rest
 * is split into reads, and every result is checked against the same input fed whole (split
 * invariance) and, where one is simple enough, against a model written here.
 */
import {
  AEAD_JOB_STRIDE,
  AEAD_TAG_BYTES,
  CHUNK_UNIT_STRIDE,
  ErrorCode,
  FRAME_PREFIX_BYTES,
  FRAME_UNIT_STRIDE,
  JOINT_UNIT_STRIDE,
  JointDirection,
  JointUnitKind,
  RING_ENTRY_STRIDE,
  UnitFlag,
  type CoreFactories,
  type StreamParser,
} from '../../src/core/index.js';
import { encodeChunkPrefix, varintMax } from '../../src/codec/varint.js';
import { Rng, hashBytes, splitLengths } from './rng.js';
import type { FuzzTarget, Observation } from './targets.js';

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`invariant broken: ${what}`);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes shown in full when short, as length and hash when long. */
function show(bytes: Uint8Array): string {
  return bytes.length <= 16 ? hex(bytes) : `${bytes.length}#${hashBytes(bytes).toString(16)}`;
}

function pieces(input: Uint8Array, start: number, seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = start;
  for (const n of splitLengths(input.length - start, seed)) {
    out.push(input.subarray(at, at + n));
    at += n;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  return Uint8Array.from(Buffer.concat(parts));
}

const MAX_UNITS_CHOICES = [1, 2, 3, 7, 1024];

// ---------------------------------------------------------------------------------------------
// Shared driver for the three stream parsers.

interface StreamRun {
  /** Whole units: frames/chunks, or joint units with pieces merged. */
  units: string[];
  /** Every unit as returned (flags, carry), for the cross-implementation comparison. */
  raw: string[];
  error: number;
  /** Absolute index where parsing stopped on error. */
  at: number;
}

/**
 * Feed `reads` through `feed`, refeeding after `consumed` while units fill up; checks the
 * StreamParser contract on every call.
 */
function drive(
  parser: StreamParser,
  stride: number,
  maxUnits: number,
  reads: Uint8Array[],
  feed: (r: Uint8Array, off: number) => number,
  onUnit: (src: Uint8Array, unitSlot: number, out: StreamRun) => void,
): StreamRun {
  const out: StreamRun = { units: [], raw: [], error: ErrorCode.Ok, at: 0 };
  let base = 0;
  for (const r of reads) {
    let off = 0;
    for (let guard = 0; ; guard++) {
      check(guard <= r.length + 1, 'feed makes progress');
      const n = feed(r, off);
      check(Number.isInteger(n) && n >= 0 && n <= maxUnits, `count ${n} within maxUnits ${maxUnits}`);
      const consumed = parser.consumed;
      check(Number.isInteger(consumed) && consumed >= 0 && consumed <= r.length - off, `consumed ${consumed} within the read`);
      for (let i = 0; i < n; i++) {
        const s = i * stride;
        const flagsSlot = stride === JOINT_UNIT_STRIDE ? s + 1 : s;
        const flags = parser.units[flagsSlot]!;
        const offset = parser.units[stride === JOINT_UNIT_STRIDE ? s + 4 : s + 1]!;
        const length = parser.units[stride === JOINT_UNIT_STRIDE ? s + 5 : s + 2]!;
        check(length >= 0 && offset >= 0, 'offset and length non-negative');
        let src: Uint8Array;
        if (flags & UnitFlag.InCarry) {
          check(i === 0, 'InCarry only on the first unit of a feed');
          src = parser.carry();
          check(offset + length <= src.length, 'carry unit inside carry()');
        } else {
          src = r;
          check(offset >= off && offset + length <= off + consumed, `unit [${offset}, +${length}) inside the consumed span [${off}, +${consumed})`);
        }
        onUnit(src, s, out);
        out.raw.push(`${Array.from(parser.units.subarray(s, s + stride)).join(',')}`);
      }
      if (parser.error !== ErrorCode.Ok) {
        out.error = parser.error;
        out.at = base + off + consumed;
        return out;
      }
      if (consumed < r.length - off) check(n === maxUnits, 'a feed stops early only when its units are full');
      off += consumed;
      if (off >= r.length) break;
    }
    base += r.length;
  }
  out.at = base;
  return out;
}

// ---------------------------------------------------------------------------------------------
// JointParser

function jointRun(impl: CoreFactories, direction: JointDirection, maxUnits: number, reads: Uint8Array[]): StreamRun & { kinds: string } {
  const p = impl.jointParser({ direction, maxUnits });
  let open: { kind: number; a: number; b: number; parts: Uint8Array[] } | null = null;
  const kinds: number[] = [];
  const r = drive(p, JOINT_UNIT_STRIDE, maxUnits, reads, (read, off) => p.feed(read, off, read.length - off), (src, s, out) => {
    const u = p.units;
    const kind = u[s]!;
    const flags = u[s + 1]!;
    const a = u[s + 2]!;
    const b = u[s + 3]!;
    const bytes = src.slice(u[s + 4]!, u[s + 4]! + u[s + 5]!);
    check(kind >= JointUnitKind.Command && kind <= JointUnitKind.Broadcast, `kind ${kind}`);
    if (direction === JointDirection.ToClient) check(kind === JointUnitKind.Control || kind === JointUnitKind.Data, 'ToClient kinds');
    else check(kind !== JointUnitKind.Control, 'ToRelay kinds');
    if (kind === JointUnitKind.Data || kind === JointUnitKind.Broadcast) {
      check(bytes.length > 0, 'no empty pieces');
      check(a >= 0 && a <= 255 && b >= -1 && b <= 255, 'route bytes');
      check((a >= 128) === (b >= 0) || (kind === JointUnitKind.Broadcast && b === -1), 'userNr exactly for own routes');
      if (kind === JointUnitKind.Broadcast) check(a >= 128, 'broadcast to an own joint');
      if (flags & UnitFlag.FrameStart) {
        check(open === null, 'FrameStart between frames');
        open = { kind, a, b, parts: [] };
      } else check(open !== null && open.kind === kind && open.a === a && open.b === b, 'continuation matches');
      open!.parts.push(bytes);
      if (flags & UnitFlag.FrameEnd) {
        out.units.push(`${kind}:${a}:${b}:${show(concat(open!.parts))}`);
        kinds.push(kind);
        open = null;
      }
    } else {
      check(open === null && (flags & 3) === 0, 'whole commands between frames');
      check(bytes.length <= 255, 'payload at most 255');
      if (kind === JointUnitKind.Command) check(a >= 0 && a <= 4 && b >= 0 && b <= 255, 'cmd and cmdNr');
      else check(a === 0 && b === 0, 'control a = b = 0');
      out.units.push(`${kind}:${a}:${b}:${show(bytes)}`);
      kinds.push(kind);
    }
  });
  return { ...r, kinds: [...new Set(kinds)].sort().join('') };
}

function jointTarget(name: string, direction: JointDirection): FuzzTarget {
  return {
    name,
    description: `JointParser ${direction === JointDirection.ToRelay ? 'ToRelay (joint.md §2.1)' : 'ToClient (§2.4)'}; byte 0 picks maxUnits`,
    dual: true,
    maxInputBytes: 70000,
    seeds: () => jointSeeds(direction),
    generate: (rng) => Uint8Array.from([rng.u32() & 0xff, ...jointStream(rng, direction, rng.range(1, 30))]),
    run(input, impl): Observation {
      if (input.length === 0) return { result: '', signature: 'empty' };
      const maxUnits = MAX_UNITS_CHOICES[input[0]! % MAX_UNITS_CHOICES.length]!;
      const body = input.subarray(1);
      const whole = jointRun(impl, direction, maxUnits, [body]);
      const split = jointRun(impl, direction, maxUnits, pieces(input, 1, hashBytes(input)));
      check(split.units.join('|') === whole.units.join('|'), 'split reads give the same units');
      check(split.error === whole.error && split.at === whole.at, `split reads give the same error ${whole.error}@${whole.at} vs ${split.error}@${split.at}`);
      return {
        result: `${whole.error}@${whole.at}|${whole.units.join('|')}|${whole.raw.join(';')}|${split.raw.join(';')}`,
        signature: `${whole.error}|${whole.kinds}|${split.raw.some((x) => (Number(x.split(',')[1]) & UnitFlag.InCarry) !== 0) ? 'carry' : ''}`,
      };
    },
  };
}

function frameHead(size: number): number[] {
  return size < 128 ? [size] : [(size >> 8) + 0x80, size & 0xff];
}

function jointStream(rng: Rng, direction: JointDirection, units: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < units; i++) {
    const pick = rng.int(10);
    if (pick === 0 && rng.oneIn(3)) {
      out.push(rng.u32() & 0xff); // garbage
    } else if (pick < 3) {
      if (direction === JointDirection.ToRelay) {
        const cmd = rng.oneIn(10) ? rng.int(256) : rng.int(5);
        const len = cmd === 2 || cmd === 3 ? 1 : cmd === 4 ? 2 : rng.length(255);
        out.push(0, cmd, rng.int(256), rng.oneIn(15) ? rng.int(256) : len, ...rng.bytes(len));
      } else {
        const len = rng.length(255);
        out.push(0, len, ...rng.bytes(len));
      }
    } else if (pick < 5 && direction === JointDirection.ToRelay) {
      const mode = rng.oneIn(10) ? rng.int(256) : rng.int(2);
      const data = rng.length(rng.oneIn(10) ? 32765 : 200);
      const route = mode === 0 ? [0x80 + rng.int(128), rng.int(256)] : [rng.oneIn(8) ? rng.int(128) : 0x80 + rng.int(128)];
      out.push(1, mode, ...frameHead(route.length + data), ...route, ...rng.bytes(data));
    } else {
      const own = rng.oneIn(2);
      const route = own ? [0x80 + rng.int(128), rng.int(256)] : [rng.int(128)];
      const data = Math.max(rng.oneIn(20) ? 0 : 1, rng.length(rng.oneIn(10) ? 32765 : 300));
      const size = rng.oneIn(30) ? rng.int(2) : route.length + data;
      out.push(...(rng.oneIn(30) ? [0x80, size & 0xff] : frameHead(Math.max(2, size))), ...route, ...rng.bytes(data));
    }
  }
  return out;
}

function jointSeeds(direction: JointDirection): Uint8Array[] {
  const rng = new Rng(direction + 11);
  const seeds = [Uint8Array.of(4), Uint8Array.from([4, ...jointStream(rng, direction, 20)])];
  if (direction === JointDirection.ToRelay) {
    seeds.push(Uint8Array.from([4, 0x04, 0x00, 0x41, 0x42, 0x43, 0x01, 0x00, 0x05, 0x80, 0x02, 0x41, 0x42, 0x43, 0x00, 0x02, 0x00, 0x01, 0x00]));
  } else {
    seeds.push(Uint8Array.from([4, 0x00, 0x03, 0x01, 0x00, 0x00, 0x05, 0x80, 0x00, 0x41, 0x42, 0x43, 0x00, 0x04, 0x00, 0xff, 0x00, 0x00]));
  }
  return seeds;
}

// ---------------------------------------------------------------------------------------------
// FrameDecoder: byte 0 picks maxFrameBytes and maxUnits; the rest is the stream.

const FRAME_MAX_CHOICES = [1, 2, 16, 255, 1024, 65536, 70000, 16 * 1024 * 1024];

/** The model: u32 LE length, body; 0 is FrameEmpty, > max FrameTooLarge. */
function frameModel(body: Uint8Array, max: number): { frames: string[]; error: number; at: number } {
  const frames: string[] = [];
  let at = 0;
  while (body.length - at >= FRAME_PREFIX_BYTES) {
    const len = (body[at]! | (body[at + 1]! << 8) | (body[at + 2]! << 16) | (body[at + 3]! << 24)) >>> 0;
    if (len === 0) return { frames, error: ErrorCode.FrameEmpty, at };
    if (len > max) return { frames, error: ErrorCode.FrameTooLarge, at };
    if (body.length - at - FRAME_PREFIX_BYTES < len) break;
    frames.push(show(body.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  return { frames, error: ErrorCode.Ok, at: body.length };
}

function frameRun(impl: CoreFactories, max: number, maxUnits: number, reads: Uint8Array[]): StreamRun {
  const d = impl.frameDecoder({ maxFrameBytes: max, maxUnits });
  return drive(d, FRAME_UNIT_STRIDE, maxUnits, reads, (r, off) => d.feed(r, off, r.length - off), (src, s, out) => {
    const flags = d.units[s]!;
    const len = d.units[s + 2]!;
    check((flags & 3) === 3, 'whole frames');
    check(len >= 1 && len <= max, 'frame length within 1..max');
    out.units.push(show(src.subarray(d.units[s + 1]!, d.units[s + 1]! + len)));
  });
}

const frameTarget: FuzzTarget = {
  name: 'frame-decoder',
  description: 'FrameDecoder (u32 LE length + body); byte 0 picks maxFrameBytes and maxUnits',
  dual: true,
  maxInputBytes: 140000,
  seeds: () => {
    const rng = new Rng(21);
    return [Uint8Array.of(0x24), Uint8Array.from([0x24, ...frameStream(rng, 10, 1024)]), Uint8Array.from([0x0d, ...frameStream(rng, 3, 65536)])];
  },
  generate: (rng) => {
    const b0 = rng.u32() & 0xff;
    return Uint8Array.from([b0, ...frameStream(rng, rng.range(1, 20), FRAME_MAX_CHOICES[b0 & 7]!)]);
  },
  run(input, impl) {
    if (input.length === 0) return { result: '', signature: 'empty' };
    const max = FRAME_MAX_CHOICES[input[0]! & 7]!;
    const maxUnits = MAX_UNITS_CHOICES[(input[0]! >> 3) % MAX_UNITS_CHOICES.length]!;
    const body = input.subarray(1);
    const model = frameModel(body, max);
    const whole = frameRun(impl, max, maxUnits, [body]);
    check(whole.units.join('|') === model.frames.join('|'), 'frames match the model');
    check(whole.error === model.error && (model.error === ErrorCode.Ok || whole.at === model.at), `error ${whole.error}@${whole.at} matches the model ${model.error}@${model.at}`);
    const split = frameRun(impl, max, maxUnits, pieces(input, 1, hashBytes(input)));
    check(split.units.join('|') === model.frames.join('|') && split.error === model.error, 'split reads match the model');
    return {
      result: `${whole.error}@${whole.at}|${whole.units.join('|')}|${whole.raw.join(';')}|${split.error}@${split.at}|${split.raw.join(';')}`,
      signature: `${whole.error}|${max <= 16 ? 'tiny' : 'large'}|${whole.units.length > 0}|${split.raw.some((x) => x.startsWith('7,')) ? 'carry' : ''}`,
    };
  },
};

function frameStream(rng: Rng, frames: number, max: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < frames; i++) {
    const len = rng.oneIn(15) ? rng.pick([0, max, max + 1, 0xffffffff, rng.u32()]) : 1 + rng.length(Math.min(max, 3000) - 1);
    out.push(len & 0xff, (len >>> 8) & 0xff, (len >>> 16) & 0xff, (len >>> 24) & 0xff);
    const n = Math.min(len, 5000);
    out.push(...rng.bytes(n));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ChunkAssembler: byte 0 picks N and maxChunkBytes; the rest is one stream, fed whole to
// stream 0 and in reads to streams 1 and 2 interleaved.

function chunkOptions(b0: number): { prefixBytes: number; maxChunkBytes: number; maxUnits: number } {
  const prefixBytes = 1 + (b0 & 3);
  const cap = Math.min(varintMax(prefixBytes) + 1, 1 << 17);
  const maxChunkBytes = [cap, 1, 2, 129, 300, 5000, cap, cap][(b0 >> 2) & 7]!;
  const maxUnits = MAX_UNITS_CHOICES[(b0 >> 5) % MAX_UNITS_CHOICES.length]!;
  return { prefixBytes, maxChunkBytes: Math.min(maxChunkBytes, cap), maxUnits };
}

/** The model: varint (joint.md §10.1) of length - 1, then the payload. */
function chunkModel(body: Uint8Array, n: number, max: number): { chunks: string[]; error: number } {
  const chunks: string[] = [];
  let at = 0;
  for (;;) {
    let value = 0;
    let i = 0;
    let p = at;
    for (; i < n; i++, p++) {
      if (p >= body.length) return { chunks, error: ErrorCode.Ok };
      const byte = body[p]!;
      if (i > 0 && byte === 0) return { chunks, error: ErrorCode.VarintNonMinimal };
      if (i === n - 1) {
        value += byte * 2 ** (7 * i);
        break;
      }
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) break;
    }
    const length = value + 1;
    if (length > max) return { chunks, error: ErrorCode.ChunkTooLarge };
    const start = p + 1;
    if (body.length - start < length) return { chunks, error: ErrorCode.Ok };
    chunks.push(show(body.subarray(start, start + length)));
    at = start + length;
  }
}

const chunkTarget: FuzzTarget = {
  name: 'chunk-assembler',
  description: 'ChunkAssembler (joint.md §10); byte 0 picks N, maxChunkBytes and maxUnits',
  dual: true,
  maxInputBytes: 140000,
  seeds: () => {
    const rng = new Rng(31);
    return [Uint8Array.of(1), Uint8Array.from([1, ...chunkStream(rng, 10, 2, 32768)]), Uint8Array.from([0x02, ...chunkStream(rng, 4, 3, 1 << 17)])];
  },
  generate: (rng) => {
    const b0 = rng.u32() & 0xff;
    const o = chunkOptions(b0);
    return Uint8Array.from([b0, ...chunkStream(rng, rng.range(1, 20), o.prefixBytes, o.maxChunkBytes)]);
  },
  run(input, impl) {
    if (input.length === 0) return { result: '', signature: 'empty' };
    const o = chunkOptions(input[0]!);
    const body = input.subarray(1);
    const model = chunkModel(body, o.prefixBytes, o.maxChunkBytes);
    const asm = impl.chunkAssembler({ ...o, maxStreams: 4 });
    check(asm.prefixBytes === o.prefixBytes && asm.maxChunkBytes === o.maxChunkBytes, 'options kept');
    const streamRun = (stream: number, reads: Uint8Array[]) =>
      drive(asm, CHUNK_UNIT_STRIDE, o.maxUnits, reads, (r, off) => asm.feed(stream, r, off, r.length - off), (src, s, out) => {
        check((asm.units[s]! & 3) === 3, 'whole chunks');
        const len = asm.units[s + 2]!;
        check(len >= 1 && len <= o.maxChunkBytes, 'chunk length within 1..max');
        out.units.push(show(src.subarray(asm.units[s + 1]!, asm.units[s + 1]! + len)));
      });
    const whole = streamRun(0, [body]);
    check(whole.units.join('|') === model.chunks.join('|') && whole.error === model.error, `chunks match the model (error ${whole.error} vs ${model.error})`);
    // Two streams in one assembler, their reads interleaved: carry and state stay per stream.
    const a = pieces(input, 1, hashBytes(input));
    const b = pieces(input, 1, hashBytes(input) ^ 0x5bd1e995);
    const runs = [
      { stream: 1, reads: a, i: 0, units: [] as string[], raw: [] as string[], error: 0 },
      { stream: 2, reads: b, i: 0, units: [] as string[], raw: [] as string[], error: 0 },
    ];
    while (runs.some((r) => r.i < r.reads.length && r.error === 0)) {
      for (const r of runs) {
        if (r.i >= r.reads.length || r.error !== 0) continue;
        const one = streamRun(r.stream, [r.reads[r.i++]!]);
        r.units.push(...one.units);
        r.raw.push(...one.raw);
        r.error = one.error;
      }
    }
    for (const r of runs) check(r.units.join('|') === model.chunks.join('|') && r.error === model.error, `stream ${r.stream} in reads matches the model`);
    asm.dropStream(1);
    const again = streamRun(1, [body]);
    check(again.units.join('|') === model.chunks.join('|'), 'dropStream restores the stream');
    return {
      result: `${whole.error}@${whole.at}|${whole.units.join('|')}|${whole.raw.join(';')}|${runs.map((r) => r.raw.join(';')).join('/')}`,
      signature: `${whole.error}|${o.prefixBytes}|${whole.units.length > 0}|${runs[0]!.raw.some((x) => x.startsWith('7,')) ? 'carry' : ''}`,
    };
  },
};

function chunkStream(rng: Rng, chunks: number, n: number, max: number): number[] {
  const out: number[] = [];
  const prefix = new Uint8Array(4);
  for (let i = 0; i < chunks; i++) {
    if (rng.oneIn(15)) {
      out.push(...rng.bytes(rng.range(1, 4))); // garbage prefix
      continue;
    }
    const len = 1 + rng.length(Math.min(max, varintMax(n) + 1, 4000) - 1);
    const p = encodeChunkPrefix(len, n, prefix, 0);
    out.push(...prefix.subarray(0, p), ...rng.bytes(len));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Aead: byte 0 picks the mode and key size; the rest is data.

const KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
const PREFIX = Uint8Array.of(9, 8, 7, 6);

const aeadTarget: FuzzTarget = {
  name: 'aead-open',
  description: 'Aead: open of arbitrary bytes, seal/open round trips with tampering, replay and truncation, batches; byte 0 picks mode and key size',
  dual: true,
  maxInputBytes: 70000,
  seeds: () => [Uint8Array.of(0), Uint8Array.of(1, 1, 2, 3), Uint8Array.from([2, ...new Rng(41).bytes(300)]), Uint8Array.from([4, ...new Rng(42).bytes(40)])],
  generate: (rng) => Uint8Array.from([rng.u32() & 0xff, ...rng.bytes(rng.length(rng.oneIn(20) ? 66000 : 2000))]),
  run(input, impl) {
    if (input.length === 0) return { result: '', signature: 'empty' };
    const mode = input[0]! % 3;
    const key = KEY.subarray(0, input[0]! & 4 ? 32 : 16);
    const data = input.subarray(1);
    const h = hashBytes(input);
    const log: string[] = [];
    if (mode === 0) {
      // Arbitrary bytes as a packet: always AuthFailed, output zeroed, counter unmoved.
      const rx = impl.aead(key, PREFIX);
      const out = new Uint8Array(Math.max(0, data.length - AEAD_TAG_BYTES)).fill(0xaa);
      const r = rx.open(data, 0, data.length, out, 0);
      check(r === -ErrorCode.AuthFailed, `open of arbitrary bytes gives AuthFailed, got ${r}`);
      check(out.every((b) => b === 0) || data.length < AEAD_TAG_BYTES, 'no unverified plaintext');
      check(rx.counter === 0, 'counter unmoved by a failure');
      log.push(`open:${r}`);
      const jobs = jobsFor(data.length, h, false);
      const n = rx.openBatch(data, new Uint8Array(data.length), jobs.jobs, jobs.count);
      check(jobs.count === 0 ? n === 0 : n === 0 && jobs.jobs[3] === -ErrorCode.AuthFailed, 'a batch of arbitrary bytes stops at its first job');
      log.push(`batch:${n}`);
    } else if (mode === 1) {
      const tx = impl.aead(key, PREFIX);
      const sealed = new Uint8Array(data.length + AEAD_TAG_BYTES);
      check(tx.seal(data, 0, data.length, sealed, 0) === sealed.length, 'seal returns length + 16');
      log.push(show(sealed));
      const rx = impl.aead(key, PREFIX);
      const plain = new Uint8Array(data.length);
      check(rx.open(sealed, 0, sealed.length, plain, 0) === data.length, 'open of a sealed packet succeeds');
      check(Buffer.compare(plain, data) === 0, 'round trip restores the plaintext');
      check(rx.open(sealed, 0, sealed.length, plain, 0) === -ErrorCode.AuthFailed, 'a replay fails');
      const rx2 = impl.aead(key, PREFIX);
      const tampered = Uint8Array.from(sealed);
      tampered[h % tampered.length]! ^= 1 << ((h >>> 16) & 7);
      check(rx2.open(tampered, 0, tampered.length, plain, 0) === -ErrorCode.AuthFailed, 'a flipped bit fails');
      const cut = (h >>> 8) % sealed.length;
      check(rx2.open(sealed, 0, cut, plain, 0) === -ErrorCode.AuthFailed, 'a truncated packet fails');
      check(rx2.counter === 0, 'failures leave the counter');
      check(rx2.open(sealed, 0, sealed.length, plain, 0) === data.length, 'the genuine packet still opens');
    } else {
      // Batches: sealBatch equals sequential seals, openBatch restores every job.
      const jobs = jobsFor(data.length, h, true);
      const outBytes = data.length + jobs.count * AEAD_TAG_BYTES;
      const sealed = new Uint8Array(outBytes);
      const tx = impl.aead(key, PREFIX);
      check(tx.sealBatch(data, sealed, jobs.jobs, jobs.count) === jobs.count, 'sealBatch seals every job');
      const one = impl.aead(key, PREFIX);
      const seq = new Uint8Array(outBytes);
      const openJobs = new Int32Array(jobs.count * AEAD_JOB_STRIDE);
      for (let i = 0; i < jobs.count; i++) {
        const j = i * AEAD_JOB_STRIDE;
        const [inOff, inLen, outOff] = [jobs.jobs[j]!, jobs.jobs[j + 1]!, jobs.jobs[j + 2]!];
        check(jobs.jobs[j + 3] === inLen + AEAD_TAG_BYTES, 'job result');
        one.seal(data, inOff, inLen, seq, outOff);
        openJobs.set([outOff, inLen + AEAD_TAG_BYTES, inOff, 0], j);
      }
      check(Buffer.compare(seq, sealed) === 0, 'a batch seals the same bytes as single seals');
      log.push(show(sealed));
      const plain = new Uint8Array(data.length);
      const rx = impl.aead(key, PREFIX);
      check(rx.openBatch(sealed, plain, openJobs, jobs.count) === jobs.count, 'openBatch opens every job');
      check(Buffer.compare(plain.subarray(0, jobs.covered), data.subarray(0, jobs.covered)) === 0, 'openBatch restores the plaintext');
      if (jobs.count > 1) {
        // Swap two packets' order: the batch stops at the first.
        const rx2 = impl.aead(key, PREFIX);
        const swapped = Int32Array.from(openJobs);
        swapped.set(openJobs.subarray(AEAD_JOB_STRIDE, 2 * AEAD_JOB_STRIDE), 0);
        swapped.set(openJobs.subarray(0, AEAD_JOB_STRIDE), AEAD_JOB_STRIDE);
        const n = rx2.openBatch(sealed, plain, swapped, jobs.count);
        // Equal empty packets at the front open in any order; otherwise reordering fails at once.
        check(n === 0 || openJobs[1] === openJobs[AEAD_JOB_STRIDE + 1], `reordered batch stops, got ${n}`);
        log.push(`reorder:${n}`);
      }
    }
    return { result: `${mode}|${key.length}|${log.join('|')}`, signature: `${mode}|${key.length}|${data.length === 0 ? 0 : data.length < AEAD_TAG_BYTES ? 'short' : data.length === AEAD_TAG_BYTES ? 'tag' : data.length > 1400 ? 'big' : 'some'}` };
  },
};

/** Split `length` bytes into consecutive jobs (lengths from the hash). */
function jobsFor(length: number, seed: number, sealing: boolean): { jobs: Int32Array; count: number; covered: number } {
  const rng = new Rng(seed);
  const lens: number[] = [];
  for (let left = length; left > 0 && lens.length < 64; ) {
    const n = Math.min(left, rng.length(2000));
    lens.push(n);
    left -= n;
  }
  if (lens.length === 0) lens.push(0);
  const jobs = new Int32Array(lens.length * AEAD_JOB_STRIDE);
  let inAt = 0;
  let outAt = 0;
  lens.forEach((n, i) => {
    jobs.set([inAt, n, outAt, 0], i * AEAD_JOB_STRIDE);
    inAt += n;
    outAt += sealing ? n + AEAD_TAG_BYTES : Math.max(0, n - AEAD_TAG_BYTES);
  });
  return { jobs, count: lens.length, covered: inAt };
}

// ---------------------------------------------------------------------------------------------
// EventRing: byte 0 picks capacity and arena; the rest is a program of push / batch / poll.

const eventRingTarget: FuzzTarget = {
  name: 'event-ring',
  description: 'EventRing: programs of push, pushBatch and poll on small rings, checked against a FIFO model',
  dual: true,
  maxInputBytes: 20000,
  seeds: () => [Uint8Array.of(0x42, 0, 5, 1, 2, 3, 4, 5, 3), Uint8Array.from([0x1b, ...new Rng(51).bytes(200)])],
  generate: (rng) => Uint8Array.from([rng.u32() & 0xff, ...rng.bytes(rng.length(3000))]),
  run(input, impl) {
    if (input.length === 0) return { result: '', signature: 'empty' };
    const capacity = 1 + (input[0]! & 7);
    const arenaBytes = (input[0]! >> 3) * 16;
    const ring = impl.eventRing({ capacity, arenaBytes });
    const log: string[] = [];
    // The model: every entry pushed since the last poll, oldest first; the ring holds a suffix.
    let pending: { kind: number; peer: number; ts: number; payload: Uint8Array }[] = [];
    let seq = 0;
    let drops = 0;
    let dropsSeen = 0;
    const poll = () => {
      const size = ring.size;
      const n = ring.poll();
      check(n === size, 'poll takes everything');
      check(ring.size === 0, 'poll empties the ring');
      check(n <= capacity && n <= pending.length, 'no more than pushed and capacity');
      const tail = pending.slice(pending.length - n);
      check(pending.length - n === drops - dropsSeen, `entries not polled were dropped (${pending.length - n} vs ${drops - dropsSeen})`);
      for (let i = 0; i < n; i++) {
        const s = i * RING_ENTRY_STRIDE;
        const e = tail[i]!;
        const [kind, peer, ts, off, len] = Array.from(ring.polled.subarray(s, s + RING_ENTRY_STRIDE));
        check(kind === e.kind && peer === e.peer && ts === e.ts, 'kind, peer and timestamp kept');
        check(len === e.payload.length && off! + len! <= arenaBytes, 'payload span inside the arena');
        check(Buffer.compare(ring.arena.subarray(off!, off! + len!), e.payload) === 0, 'payload bytes kept');
        log.push(`${peer}@${off}`);
      }
      log.push(`poll:${n}`);
      pending = [];
      dropsSeen = drops;
    };
    const data = input.subarray(1);
    let at = 0;
    const next = () => (at < data.length ? data[at++]! : 0);
    while (at < data.length) {
      const op = next() & 3;
      if (op <= 1) {
        const len = next() % 80;
        const payload = data.slice(at, at + len);
        at += len;
        const full = new Uint8Array(len);
        full.set(payload);
        const kind = next() - 128;
        const r = ring.push(kind, seq, seq * 0.5, full, 0, len);
        if (len > arenaBytes) {
          check(r === -ErrorCode.RingPayloadTooLarge, 'too large refused');
          log.push('big');
        } else {
          check(r >= 0, 'push succeeds');
          drops += r;
          pending.push({ kind, peer: seq, ts: seq * 0.5, payload: full });
          log.push(`+${r}`);
        }
        seq++;
      } else if (op === 2) {
        const count = 1 + (next() & 3);
        const meta = new Float64Array(count * RING_ENTRY_STRIDE);
        const pool = data.slice(at, at + 64);
        const full = new Uint8Array(64);
        full.set(pool);
        const planned: { kind: number; peer: number; ts: number; payload: Uint8Array }[] = [];
        for (let i = 0; i < count; i++) {
          const off = next() & 31;
          const len = next() & 31;
          const kind = next();
          meta.set([kind, seq + i, -(seq + i), off, len], i * RING_ENTRY_STRIDE);
          planned.push({ kind, peer: seq + i, ts: -(seq + i), payload: full.slice(off, off + len) });
        }
        const r = ring.pushBatch(meta, count, full);
        const firstBig = planned.findIndex((p) => p.payload.length > arenaBytes);
        if (firstBig >= 0) {
          check(r === -ErrorCode.RingPayloadTooLarge, 'batch stops at a payload too large');
          pending.push(...planned.slice(0, firstBig));
          drops = dropsSeen + pending.length - ring.size; // drops inside a failed batch are not returned
        } else {
          check(r >= 0, 'batch succeeds');
          drops += r;
          pending.push(...planned);
        }
        seq += count;
        log.push(`b${r}`);
      } else {
        poll();
      }
      check(ring.size <= capacity, 'size within capacity');
    }
    poll();
    check(ring.dropped === drops, `dropped counts every drop (${ring.dropped} vs ${drops})`);
    return { result: `${capacity}/${arenaBytes}|${log.join(',')}`, signature: `${capacity <= 2 ? 'tiny' : 'small'}|${arenaBytes > 0 ? 'arena' : 'none'}|${drops > 0}|${log.includes('big')}|${log.some((x) => x.startsWith('b-'))}` };
  },
};

/** The core targets, in a stable order. */
export const CORE_TARGETS: readonly FuzzTarget[] = [
  jointTarget('joint-parser-to-relay', JointDirection.ToRelay),
  jointTarget('joint-parser-to-client', JointDirection.ToClient),
  frameTarget,
  chunkTarget,
  aeadTarget,
  eventRingTarget,
];
