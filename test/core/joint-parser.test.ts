import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  JOINT_UNIT_STRIDE,
  JointDirection,
  JointUnitKind,
  MAX_UNITS_PER_FEED,
  UnitFlag,
  type JointParser,
} from '../../src/core/index.js';
import { IMPLEMENTATIONS } from '../helpers/implementations.js';
import { hex, loadVectors, splits, toHex } from '../helpers/vectors.js';

interface UnitSpec {
  kind: keyof typeof JointUnitKind;
  a: number;
  b: number;
  /** Hex of the unit's bytes (pieces of one frame concatenated). */
  data?: string;
  /** Or `[start, end)` of the vector's input. */
  dataRange?: [number, number];
}

interface ParserVector {
  id: string;
  direction: keyof typeof JointDirection;
  input: string;
  units: UnitSpec[];
  error?: keyof typeof ErrorCode;
  /** Index of the offending byte in the input. */
  at?: number;
  section: string;
}

const VECTORS = loadVectors<ParserVector>('joint', 'parser').vectors;

/** A unit as the tests see it: pieces of one data/broadcast frame merged. */
interface Unit {
  kind: number;
  a: number;
  b: number;
  bytes: Uint8Array;
  /** Pieces not yet joined into `bytes` (joined at FrameEnd: linear, even byte by byte). */
  parts?: Uint8Array[];
}

interface Piece {
  kind: number;
  flags: number;
  a: number;
  b: number;
  bytes: Uint8Array;
}

interface Run {
  units: Unit[];
  pieces: Piece[];
  error: number;
  /** Absolute stream index where parsing stopped (the offending byte on error). */
  at: number;
  feeds: number;
}

function joinParts(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  return Uint8Array.from(Buffer.concat(parts));
}

/** Hex for short byte strings, a length and digest for long ones (readable diffs, fast compares). */
function show(bytes: Uint8Array): string {
  if (bytes.length <= 64) return toHex(bytes);
  return `${bytes.length} bytes sha1 ${createHash('sha1').update(bytes).digest('hex')}`;
}

/**
 * Feed `pieces` in order, refeeding the rest when units fill up, and collect the units with
 * copies of their bytes. Checks the structural rules every feed must keep: flags, InCarry only
 * on the first unit, offsets inside the input.
 */
/** A cheap assertion for hot loops (vitest's expect costs microseconds per call). */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`parser broke a rule: ${what}`);
}

function run(parser: JointParser, pieces: Iterable<Uint8Array>): Run {
  const out: Run = { units: [], pieces: [], error: ErrorCode.Ok, at: 0, feeds: 0 };
  let open: Unit | null = null;
  let base = 0;
  for (const piece of pieces) {
    let off = 0;
    do {
      const n = parser.feed(piece, off, piece.length - off);
      out.feeds++;
      const u = parser.units;
      for (let i = 0; i < n; i++) {
        const s = i * JOINT_UNIT_STRIDE;
        const kind = u[s]!;
        const flags = u[s + 1]!;
        const offset = u[s + 4]!;
        const length = u[s + 5]!;
        const src = flags & UnitFlag.InCarry ? parser.carry() : piece;
        if (flags & UnitFlag.InCarry) check(i === 0, 'InCarry only on the first unit');
        else {
          check(offset >= off && offset + length <= piece.length, 'unit inside the fed span');
        }
        const bytes = src.slice(offset, offset + length);
        const p: Piece = { kind, flags, a: u[s + 2]!, b: u[s + 3]!, bytes };
        out.pieces.push(p);
        if (kind === JointUnitKind.Data || kind === JointUnitKind.Broadcast) {
          check(length > 0, 'no empty pieces');
          if (flags & UnitFlag.FrameStart) {
            check(open === null, 'FrameStart only between frames');
            open = { kind, a: p.a, b: p.b, bytes, parts: [bytes] };
          } else {
            check(open !== null && open.kind === kind && open.a === p.a && open.b === p.b, 'a continued piece matches its frame');
            open!.parts!.push(bytes);
          }
          if (flags & UnitFlag.FrameEnd) {
            open!.bytes = joinParts(open!.parts!);
            delete open!.parts;
            out.units.push(open!);
            open = null;
          }
        } else {
          check((flags & (UnitFlag.FrameStart | UnitFlag.FrameEnd)) === 0 && open === null, 'commands are whole and between frames');
          out.units.push({ kind, a: p.a, b: p.b, bytes });
        }
      }
      if (parser.error !== ErrorCode.Ok) {
        out.error = parser.error;
        out.at = base + off + parser.consumed;
        return out;
      }
      // Without an error a feed stops early only when its units are full.
      if (parser.consumed < piece.length - off) check(n === parser.units.length / JOINT_UNIT_STRIDE, 'stops early only when full');
      off += parser.consumed;
    } while (off < piece.length);
    base += piece.length;
  }
  out.at = base;
  return out;
}

function expectedUnits(v: ParserVector, input: Uint8Array): { kind: number; a: number; b: number; hex: string }[] {
  return v.units.map((u) => ({
    kind: JointUnitKind[u.kind],
    a: u.a,
    b: u.b,
    hex: u.dataRange ? show(input.subarray(u.dataRange[0], u.dataRange[1])) : show(hex(u.data ?? '')),
  }));
}

function actualUnits(r: Run): { kind: number; a: number; b: number; hex: string }[] {
  return r.units.map((u) => ({ kind: u.kind, a: u.a, b: u.b, hex: show(u.bytes) }));
}

/** Split points for a large input: every point near both ends and each unit boundary, plus a stride. */
function splitPoints(length: number): number[] {
  if (length <= 2048) return Array.from({ length: Math.max(0, length - 1) }, (_, i) => i + 1);
  const points = new Set<number>();
  for (let i = 1; i < 300; i++) {
    points.add(i);
    points.add(length - i);
  }
  for (let i = 300; i < length - 300; i += 97) points.add(i);
  return [...points].sort((x, y) => x - y);
}

const pattern = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

function frame(route: number[], data: Uint8Array): Uint8Array {
  const size = route.length + data.length;
  const head = size < 128 ? [size] : [(size >> 8) + 0x80, size & 0xff];
  return Uint8Array.from([...head, ...route, ...data]);
}

describe.each(IMPLEMENTATIONS)('JointParser ($name)', (impl) => {
  const parser = (direction: number, maxUnits?: number) =>
    impl.jointParser({ direction: direction as JointDirection, ...(maxUnits ? { maxUnits } : {}) });

  describe.each(VECTORS)('vector $id ($section)', (v) => {
    const input = hex(v.input);
    const direction = JointDirection[v.direction];
    const want = expectedUnits(v, input);
    const wantError = v.error ? ErrorCode[v.error] : ErrorCode.Ok;

    it('gives the expected units and error when fed whole', () => {
      const p = parser(direction);
      const r = run(p, [input]);
      expect(actualUnits(r)).toEqual(want);
      expect(r.error).toBe(wantError);
      if (v.error) expect(r.at).toBe(v.at);
      else expect(r.at).toBe(input.length);
      // Whole input, no carry: every unit is a view into the input.
      for (const piece of r.pieces) expect(piece.flags & UnitFlag.InCarry).toBe(0);
    });

    it('gives the same at every split point', () => {
      const p = parser(direction);
      for (const at of splitPoints(input.length)) {
        p.reset();
        const r = run(p, [input.subarray(0, at), input.subarray(at)]);
        const label = `${v.id} split at ${at}`;
        expect(actualUnits(r), label).toEqual(want);
        expect(r.error, label).toBe(wantError);
        if (v.error) expect(r.at, label).toBe(v.at);
      }
    });

    it('gives the same byte by byte', () => {
      const p = parser(direction);
      const bytes = Array.from({ length: input.length }, (_, i) => input.subarray(i, i + 1));
      const r = run(p, bytes);
      expect(actualUnits(r)).toEqual(want);
      expect(r.error).toBe(wantError);
      if (v.error) expect(r.at).toBe(v.at);
    });
  });

  it('parses every relay vector of §15.1 (relay.json): inputs ToRelay, outputs ToClient, without error', () => {
    interface Expect {
      output: string;
    }
    interface RelayVector {
      id: string;
      reads?: string[];
      expect?: Expect[];
      anyOf?: { expect?: Expect[] }[];
    }
    const relay = loadVectors<RelayVector>('joint', 'relay').vectors;
    expect(relay.map((v) => v.id)).toEqual(Array.from({ length: 20 }, (_, i) => `J${i + 1}`));
    for (const v of relay) {
      if (v.reads) {
        const r = run(parser(JointDirection.ToRelay), v.reads.map(hex));
        expect(r.error, `${v.id} input`).toBe(ErrorCode.Ok);
        expect(r.units.length, `${v.id} input`).toBeGreaterThan(0);
      }
      for (const e of [...(v.expect ?? []), ...(v.anyOf ?? []).flatMap((a) => a.expect ?? [])]) {
        const r = run(parser(JointDirection.ToClient), [hex(e.output)]);
        expect(r.error, `${v.id} output`).toBe(ErrorCode.Ok);
        expect(r.units.length, `${v.id} output is one unit`).toBe(1);
      }
    }
  });

  it('covers every unit kind in both directions', () => {
    const seen = new Set<string>();
    for (const v of VECTORS) for (const u of v.units) seen.add(`${v.direction}:${u.kind}`);
    for (const k of ['ToRelay:Command', 'ToRelay:Data', 'ToRelay:Broadcast', 'ToClient:Control', 'ToClient:Data']) {
      expect(seen.has(k), k).toBe(true);
    }
  });

  it('has a vector for every joint error code', () => {
    const codes = new Set(VECTORS.filter((v) => v.error).map((v) => ErrorCode[v.error!]));
    for (const name of Object.keys(ErrorCode).filter((n) => n.startsWith('Joint'))) {
      expect(codes.has(ErrorCode[name as keyof typeof ErrorCode]), name).toBe(true);
    }
  });

  it('reports its direction and starts without error', () => {
    expect(parser(JointDirection.ToRelay).direction).toBe(JointDirection.ToRelay);
    const p = parser(JointDirection.ToClient);
    expect(p.direction).toBe(JointDirection.ToClient);
    expect(p.error).toBe(ErrorCode.Ok);
    expect(p.consumed).toBe(0);
    expect(p.units.length).toBe(MAX_UNITS_PER_FEED * JOINT_UNIT_STRIDE);
  });

  it('reads a ToRelay command and a ToClient control as different unit kinds', () => {
    const input = hex('00 01 09 02 61 62');
    const toRelay = run(parser(JointDirection.ToRelay), [input]);
    expect(actualUnits(toRelay)).toEqual([{ kind: JointUnitKind.Command, a: 1, b: 9, hex: '61 62' }]);
    // To a client, `00 01 09` is a control message of one byte and `02 61 62` a data frame.
    const toClient = run(parser(JointDirection.ToClient), [input]);
    expect(actualUnits(toClient)).toEqual([
      { kind: JointUnitKind.Control, a: 0, b: 0, hex: '09' },
      { kind: JointUnitKind.Data, a: 0x61, b: -1, hex: '62' },
    ]);
    expect(toClient.error).toBe(ErrorCode.Ok);
  });

  it('marks pieces of a frame split across feeds with FrameStart and FrameEnd', () => {
    const p = parser(JointDirection.ToRelay);
    const input = frame([0x80, 0x03], pattern(10));
    const r = run(p, [input.subarray(0, 5), input.subarray(5, 9), input.subarray(9)]);
    expect(r.pieces.map((x) => [x.kind, x.flags, x.a, x.b, x.bytes.length])).toEqual([
      [JointUnitKind.Data, UnitFlag.FrameStart, 0x80, 3, 2],
      [JointUnitKind.Data, 0, 0x80, 3, 4],
      [JointUnitKind.Data, UnitFlag.FrameEnd, 0x80, 3, 4],
    ]);
  });

  it('gives a whole frame in one feed both flags, as a view at the right offset', () => {
    const p = parser(JointDirection.ToClient);
    const input = Uint8Array.from([0xee, 0xee, ...frame([0x81, 0x07], pattern(5))]);
    expect(p.feed(input, 2, input.length - 2)).toBe(1);
    expect(Array.from(p.units.subarray(0, JOINT_UNIT_STRIDE))).toEqual([
      JointUnitKind.Data,
      UnitFlag.FrameStart | UnitFlag.FrameEnd,
      0x81,
      7,
      5,
      5,
    ]);
    expect(p.consumed).toBe(input.length - 2);
  });

  it('hands a command split across feeds out whole from carry, and only that one', () => {
    const p = parser(JointDirection.ToRelay);
    const input = hex('00 00 05 04 61 62 63 64 00 01 06 03 78 79 7A');
    expect(p.feed(input, 0, 6)).toBe(0);
    expect(p.consumed).toBe(6);
    // The rest completes the first command (carry) and begins a second one, left pending.
    expect(p.feed(input, 6, 7)).toBe(1);
    expect(Array.from(p.units.subarray(0, 6))).toEqual([JointUnitKind.Command, UnitFlag.InCarry, 0, 5, 0, 4]);
    expect(toHex(p.carry().subarray(0, 4))).toBe('61 62 63 64');
    expect(p.feed(input, 13, 2)).toBe(1);
    expect(Array.from(p.units.subarray(0, 6))).toEqual([JointUnitKind.Command, UnitFlag.InCarry, 1, 6, 0, 3]);
    expect(toHex(p.carry().subarray(0, 3))).toBe('78 79 7a');
  });

  it('keeps a carried control payload intact while the next one is collected', () => {
    const p = parser(JointDirection.ToClient);
    const a = hex('00 03 01 00 07');
    const b = hex('00 04 00 00 02 09');
    expect(p.feed(a, 0, 3)).toBe(0);
    const joined = Uint8Array.from([...a.subarray(3), ...b.subarray(0, 4)]);
    expect(p.feed(joined, 0, joined.length)).toBe(1);
    const carried = p.carry();
    expect(toHex(carried.subarray(p.units[4]!, p.units[4]! + p.units[5]!))).toBe('01 00 07');
    expect(p.feed(b, 4, 2)).toBe(1);
    expect(toHex(p.carry().subarray(0, 4))).toBe('00 00 02 09');
  });

  it('completes a zero-length command at once (joint.md D7)', () => {
    const p = parser(JointDirection.ToRelay);
    expect(p.feed(hex('00 01 03 00'), 0, 4)).toBe(1);
    expect(Array.from(p.units.subarray(0, 6))).toEqual([JointUnitKind.Command, 0, 1, 3, 4, 0]);
  });

  it('accepts every command 0..4 and refuses 5..255', () => {
    const lengths = [3, 3, 1, 1, 2];
    for (let cmd = 0; cmd <= 4; cmd++) {
      const p = parser(JointDirection.ToRelay);
      const len = lengths[cmd]!;
      const input = Uint8Array.from([0, cmd, 0, len, ...pattern(len)]);
      const r = run(p, [input]);
      expect(r.error, `cmd ${cmd}`).toBe(ErrorCode.Ok);
      expect(actualUnits(r)).toEqual([{ kind: JointUnitKind.Command, a: cmd, b: 0, hex: toHex(pattern(len)) }]);
    }
    for (let cmd = 5; cmd <= 255; cmd++) {
      const p = parser(JointDirection.ToRelay);
      const r = run(p, [Uint8Array.from([0, cmd, 0, 0])]);
      expect(r.error, `cmd ${cmd}`).toBe(ErrorCode.JointUnknownCommand);
      expect(r.at).toBe(1);
    }
  });

  it('refuses every lead byte 01 toward a client', () => {
    const p = parser(JointDirection.ToClient);
    expect(p.feed(hex('01'), 0, 1)).toBe(0);
    expect(p.error).toBe(ErrorCode.JointBadLeadByte);
    expect(p.consumed).toBe(0);
  });

  it('accepts every size 2..32767 encoding and rejects long sizes 0 and 1', () => {
    for (const size of [2, 3, 127, 128, 255, 256, 1000, 32766, 32767]) {
      const input = frame([0x05], pattern(size - 1, size));
      const r = run(parser(JointDirection.ToRelay), [input]);
      expect(r.error, `size ${size}`).toBe(ErrorCode.Ok);
      expect(r.units.length).toBe(1);
      expect(r.units[0]!.bytes.length).toBe(size - 1);
    }
    for (const low of [0, 1]) {
      const r = run(parser(JointDirection.ToClient), [Uint8Array.of(0x80, low, 0, 0)]);
      expect(r.error).toBe(ErrorCode.JointBadFrameSize);
      expect(r.at).toBe(1);
    }
  });

  it('stops when the units are full and resumes from consumed', () => {
    const p = parser(JointDirection.ToRelay, 2);
    const input = Uint8Array.from([...hex('02 00 41 02 00 42 02 00 43'), ...hex('00 02 00 01 07'), ...hex('02 00 44')]);
    expect(p.feed(input, 0, input.length)).toBe(2);
    expect(p.consumed).toBe(6);
    expect(p.error).toBe(ErrorCode.Ok);
    const r = run(p, [input.subarray(6)]);
    expect(actualUnits(r).map((u) => u.hex)).toEqual(['43', '07', '44']);
    expect(r.feeds).toBe(2);
  });

  it('keeps an error sticky until reset, and reset forgets partial units', () => {
    const p = parser(JointDirection.ToRelay);
    expect(p.feed(hex('04 00 41 42 43 00 09'), 0, 7)).toBe(1);
    expect(p.error).toBe(ErrorCode.JointUnknownCommand);
    expect(p.consumed).toBe(6);
    expect(p.feed(hex('02 00 41'), 0, 3)).toBe(0);
    expect(p.error).toBe(ErrorCode.JointUnknownCommand);
    expect(p.consumed).toBe(0);
    p.reset();
    expect(p.error).toBe(ErrorCode.Ok);
    expect(p.feed(hex('02 00 41'), 0, 3)).toBe(1);
    // A frame cut short is forgotten by reset: the next byte is a lead byte again.
    expect(p.feed(hex('05 00 41'), 0, 3)).toBe(1);
    p.reset();
    expect(run(p, [hex('00 02 00 01 09')]).units.map((u) => u.kind)).toEqual([JointUnitKind.Command]);
  });

  it('resets broadcast state at the end of each frame (joint.md D2)', () => {
    const p = parser(JointDirection.ToRelay);
    // A broadcast frame split in three, then a unicast: the unicast is Data.
    const input = Uint8Array.from([1, 0, ...frame([0x80, 0x02], pattern(6)), ...frame([0x80, 0x02], pattern(3))]);
    const r = run(p, [input.subarray(0, 4), input.subarray(4, 7), input.subarray(7)]);
    expect(r.units.map((u) => [u.kind, u.a, u.b, u.bytes.length])).toEqual([
      [JointUnitKind.Broadcast, 0x80, 2, 6],
      [JointUnitKind.Data, 0x80, 2, 3],
    ]);
  });

  it('parses a long mixed stream the same in one feed and in random reads', () => {
    const parts: number[] = [];
    let seed = 1;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 300; i++) {
      switch (rnd(4)) {
        case 0:
          parts.push(0, 0, rnd(256), 3, 1, 2, 3);
          break;
        case 1:
          parts.push(...frame([rnd(128)], pattern(1 + rnd(300), i)));
          break;
        case 2:
          parts.push(...frame([0x80 + rnd(128), rnd(256)], pattern(1 + rnd(200), i)));
          break;
        default:
          parts.push(1, 1, ...frame([0x80 + rnd(128)], pattern(1 + rnd(100), i)));
      }
    }
    const input = Uint8Array.from(parts);
    const whole = actualUnits(run(parser(JointDirection.ToRelay), [input]));
    expect(whole.length).toBe(300);
    for (let trial = 0; trial < 20; trial++) {
      const pieces: Uint8Array[] = [];
      for (let at = 0; at < input.length; ) {
        const n = 1 + rnd(trial < 10 ? 40 : 2000);
        pieces.push(input.subarray(at, at + n));
        at += n;
      }
      expect(actualUnits(run(parser(JointDirection.ToRelay, 1 + rnd(8)), pieces))).toEqual(whole);
    }
  });

  it('handles an empty feed and a feed at the end of its buffer', () => {
    const p = parser(JointDirection.ToRelay);
    const input = hex('02 00 41');
    expect(p.feed(input, 3, 0)).toBe(0);
    expect(p.consumed).toBe(0);
    expect(p.feed(new Uint8Array(0), 0, 0)).toBe(0);
    expect(p.error).toBe(ErrorCode.Ok);
  });

  it('throws on misuse and stays usable', () => {
    expect(() => impl.jointParser({ direction: 2 as JointDirection })).toThrow(RangeError);
    expect(() => impl.jointParser({ direction: -1 as JointDirection })).toThrow(RangeError);
    expect(() => impl.jointParser({ direction: JointDirection.ToRelay, maxUnits: 0 })).toThrow(RangeError);
    expect(() => impl.jointParser({ direction: JointDirection.ToRelay, maxUnits: 1.5 })).toThrow(RangeError);
    const p = parser(JointDirection.ToRelay);
    const input = hex('02 00 41');
    expect(() => p.feed(input, 0, 4)).toThrow(RangeError);
    expect(() => p.feed(input, -1, 1)).toThrow(RangeError);
    expect(() => p.feed(input, 4, 0)).toThrow(RangeError);
    expect(() => p.feed(input, 2, 2)).toThrow(RangeError);
    expect(() => p.feed(input, 0.5, 1)).toThrow(RangeError);
    expect(() => p.feed('abc' as unknown as Uint8Array, 0, 1)).toThrow(TypeError);
    expect(p.feed(input, 0, 3)).toBe(1);
    expect(p.error).toBe(ErrorCode.Ok);
  });
});
