import { describe, expect, it, vi } from 'vitest';
import { defineRemote, dispatchCall, RemoteInterface } from '../../src/peote/remote.js';
import { RpcTypes as T } from '../../src/peote/rpc-types.js';
import { PeoteBytesOutput } from '../../src/peote/peote-bytes-output.js';
import { hex, loadVectors, toHex } from '../helpers/vectors.js';

/** The interface of the §15.3 vectors, in its declaration order (fn 0..4). */
const Vectors = defineRemote({
  test: [],
  message: [T.string, T.bool],
  numbers: [T.byte, T.uint16, T.int16, T.int32, T.int, T.float, T.double],
  complex: [T.bytes, T.array(T.array(T.int))],
  maps: [T.map(T.int, T.string)],
});

interface RpcVector {
  id: string;
  call: string;
  args: unknown[];
  payload: string;
}

function argsFor(v: RpcVector): unknown[] {
  if (v.call === 'complex') return [new TextEncoder().encode(v.args[0] as string), v.args[1]];
  if (v.call === 'maps') return [new Map(v.args[0] as [number, string][])];
  return v.args;
}

describe('RPC encoding (joint.md §12, vectors §15.3)', () => {
  const { vectors } = loadVectors<RpcVector>('joint', 'rpc');

  for (const v of vectors.filter((x) => x.call !== 'writeString')) {
    it(`${v.id}: ${v.call} encodes byte for byte`, () => {
      const bytes = Vectors.encodeCall(0, v.call as 'test', argsFor(v) as never);
      expect(toHex(bytes)).toBe(toHex(hex(v.payload)));
    });

    it(`${v.id}: ${v.call} decodes and dispatches`, () => {
      const calls: unknown[][] = [];
      const impl = Object.fromEntries(Vectors.names.map((n) => [n, (...a: unknown[]) => calls.push([n, ...a])]));
      const registry = new Map([[0, Vectors.implement(impl as never)]]);
      expect(dispatchCall(hex(v.payload), registry)).toBeNull();
      expect(calls).toHaveLength(1);
      expect(calls[0]![0]).toBe(v.call);
    });
  }

  it('R1: writeString("héllo")', () => {
    const out = new PeoteBytesOutput();
    out.writeString('héllo');
    expect(toHex(out.getBytes())).toBe('06 68 c3 a9 6c 6c 6f');
  });

  it('round-trips every argument type', () => {
    const All = defineRemote({
      all: [T.bool, T.byte, T.int16, T.uint16, T.int32, T.float, T.double, T.string, T.bytes, T.array(T.string), T.map(T.string, T.array(T.int)), T.intMap(T.bool), T.stringMap(T.double)],
    });
    const args = [true, 7, -300, 40000, -123456, 0.25, Math.PI, 'ünïcode ✓', Uint8Array.of(1, 2, 3), ['a', ''], new Map([['k', [1, -2]]]), new Map([[5, false]]), new Map([['x', 1.5]])];
    const seen = vi.fn();
    const registry = new Map([[3, All.implement({ all: seen })]]);
    expect(dispatchCall(All.encodeCall(3, 'all', args as never), registry)).toBeNull();
    expect(seen).toHaveBeenCalledWith(...args);
  });

  it('a null array arrives as an empty array', () => {
    const A = defineRemote({ f: [T.array(T.int)] });
    const seen = vi.fn();
    dispatchCall(A.encodeCall(0, 'f', [null]), new Map([[0, A.implement({ f: seen })]]));
    expect(seen).toHaveBeenCalledWith([]);
  });

  it('proxies encode the same bytes as encodeCall', () => {
    const sent: Uint8Array[] = [];
    Vectors.proxy(0, (c) => sent.push(c)).message('héllo', true);
    expect(toHex(sent[0]!)).toBe('00 01 06 68 c3 a9 6c 6c 6f 01');
  });

  describe('refuses bad calls with a reason, never a throw', () => {
    const noop = Vectors.implement({ test() {}, message() {}, numbers() {}, complex() {}, maps() {} });
    const registry = new Map([[0, noop]]);
    const cases: [string, string][] = [
      ['unknown remote id', '07 00'],
      ['unknown function index', '00 09'],
      ['too short', '00'],
      ['truncated argument', '00 01 06 68 C3'],
      ['leftover bytes', '00 00 01'],
      ['non-minimal varint', '00 01 80 00'],
      ['hostile array count', '00 03 00 FF FF FF FF'],
    ];
    for (const [name, bytes] of cases) {
      it(name, () => {
        expect(typeof dispatchCall(hex(bytes), registry)).toBe('string');
      });
    }
  });

  it('rejects misuse when encoding', () => {
    expect(() => Vectors.encodeCall(256, 'test', [] as never)).toThrow(RangeError);
    expect(() => Vectors.encodeCall(0, 'message', ['x'] as never)).toThrow(TypeError);
    expect(() => Vectors.encodeCall(0, 'numbers', [256, 0, 0, 0, 0, 0, 0] as never)).toThrow(RangeError);
    expect(() => new RemoteInterface(Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`f${i}`, []])))).toThrow(RangeError);
  });
});
