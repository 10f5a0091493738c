import { describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import { TableCodec, MAX_TABLE_DEPTH } from '../../src/codec/table.js';

const codec = new TableCodec();
const roundTrip = (t: unknown) => {
  const bytes = codec.encode(t as never).slice();
  const r = codec.decode(bytes, 0, bytes.length);
  if (!r.ok) throw new Error(r.error);
  return r.table;
};

describe('TableCodec.encode / decode', () => {
  it.each([
    [null],
    [true],
    [false],
    [0],
    [-1],
    [2 ** 40],
    [-(2 ** 53)],
    [1.25],
    [''],
    ['héllo ✓'],
    [[]],
    [{}],
    [[1, 'a', null, [2, [3]], { k: false }]],
    [{ x: 1, y: { z: [1, 2, { w: 'deep' }] }, empty: {}, list: [] }],
    [{ big: 'x'.repeat(70_000), many: Array.from({ length: 1000 }, (_, i) => i) }],
  ])('round-trips %j', (t) => {
    expect(roundTrip(t)).toEqual(t);
  });

  it('sends undefined as nil', () => {
    expect(roundTrip({ a: undefined, b: [undefined] })).toEqual({ a: null, b: [null] });
  });

  it('rejects values outside the subset with a TypeError naming the path', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.me = cyclic;
    expect(() => codec.encode({ f: () => 1 } as never)).toThrow(/table\.f is a function/);
    expect(() => codec.encode({ s: Symbol('x') } as never)).toThrow(/symbol/);
    expect(() => codec.encode([1n] as never)).toThrow(/table\[0\] is a bigint/);
    expect(() => codec.encode({ d: new Date() } as never)).toThrow(/instance of Date, not a plain object/);
    expect(() => codec.encode({ m: new Map() } as never)).toThrow(/Map/);
    expect(() => codec.encode({ u: new Uint8Array(2) } as never)).toThrow(/Uint8Array/);
    expect(() => codec.encode(cyclic as never)).toThrow(/^table\.me refers back to table \(a cycle\); tables must be trees$/);
    expect(() => codec.encode(JSON.parse('{"__proto__": 1}'))).toThrow(/__proto__/);
    expect(() => codec.encode({ [Symbol('k')]: 1 } as never)).toThrow(/symbol key/);
  });

  it('names a cycle once, by where it closes and what it points back to (issue 16)', () => {
    const player: Record<string, unknown> = { name: 'a' };
    const world = { players: [{ id: 1 }, player] };
    player.world = world;
    expect(() => codec.encode({ world } as never)).toThrow('table.world.players[1].world refers back to table.world (a cycle); tables must be trees');
  });

  it('refuses NaN with a TypeError naming the path; ±Infinity and -0 travel (issue 16)', () => {
    expect(() => codec.encode({ nan: NaN } as never)).toThrow(new TypeError('table.nan is NaN; tables hold numbers other than NaN'));
    expect(() => codec.encode([1, [NaN]] as never)).toThrow('table[1][0] is NaN');
    expect(roundTrip({ a: Infinity, b: -Infinity })).toEqual({ a: Infinity, b: -Infinity });
  });

  it('rejects nesting deeper than maxDepth at encode', () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_TABLE_DEPTH + 1; i++) deep = [deep];
    expect(() => codec.encode(deep as never)).toThrow(/nests deeper than 64/);
    const small = new TableCodec({ maxDepth: 2 });
    expect(() => small.encode([[[1]]])).toThrow(TypeError);
    expect(small.encode([[1]]).length).toBeGreaterThan(0);
    expect(() => new TableCodec({ maxDepth: 0 })).toThrow(RangeError);
  });

  it('accepts a plain object without prototype', () => {
    const o = Object.create(null) as Record<string, number>;
    o.a = 1;
    expect(roundTrip(o)).toEqual({ a: 1 });
  });
});

describe('TableCodec.scan (hostile bytes)', () => {
  const scan = (b: number[] | Uint8Array) => codec.scan(Uint8Array.from(b), 0, b.length);

  it('accepts what msgpackr packs for the subset', () => {
    const b = pack({ a: [1, -1, 1.5, 'x', null, true, 300, 70000, 2 ** 33, -(2 ** 33), 'y'.repeat(300)] });
    expect(codec.scan(b, 0, b.length)).toBeNull();
  });

  it.each([
    [[], 'truncated table'],
    [[0x92, 0x01], 'truncated table'],
    [[0xa5, 0x61], 'truncated table'],
    [[0xcd, 0x01], 'truncated table'],
    [[0xdc, 0xff, 0xff], 'truncated table'],
    [[0xdd, 0xff, 0xff, 0xff, 0xff], 'truncated table'],
    [[0xc0, 0xc0], 'trailing bytes after table'],
    [[0xc1], 'unsupported MessagePack type 0xc1'],
    [[0xc4, 0x01, 0x00], 'unsupported MessagePack type 0xc4'],
    [[0xd4, 0x01, 0x00], 'unsupported MessagePack type 0xd4'],
    [[0x81, 0x01, 0x02], 'object key is not a string'],
  ])('rejects %j: %s', (bytes, reason) => {
    expect(scan(bytes)).toBe(reason);
    const r = codec.decode(Uint8Array.from(bytes), 0, bytes.length);
    expect(r.ok).toBe(false);
  });

  it('rejects a __proto__ key', () => {
    const b = [0x81, 0xa9, ...Buffer.from('__proto__'), 0x01];
    expect(scan(b)).toBe('forbidden key __proto__');
  });

  it('rejects deep nesting without recursing (16 MiB of 0x91 would blow the stack)', () => {
    const b = new Uint8Array(1_000_001).fill(0x91);
    b[b.length - 1] = 0xc0;
    expect(codec.scan(b, 0, b.length)).toBe('nesting deeper than 64');
  });

  it('scans a span inside a larger buffer', () => {
    const b = Uint8Array.from([0xff, 0x92, 0x01, 0x02, 0xff]);
    expect(codec.scan(b, 1, 3)).toBeNull();
    const r = codec.decode(b, 1, 3);
    expect(r).toEqual({ ok: true, table: [1, 2] });
    expect(codec.decodeScanned(b, 1, 3)).toEqual({ ok: true, table: [1, 2] });
  });
});
