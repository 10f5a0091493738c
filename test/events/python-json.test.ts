import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseDatagram, pyDumps, pyNumber, pyString } from '../../src/events/python-json.js';
import { loadVectors } from '../helpers/vectors.js';

const file = loadVectors<{ value: unknown; python: string }>('neteria', 'python-json');

describe('pyDumps matches Python json.dumps (neteria.md §1)', () => {
  for (const v of file.vectors) {
    it(`writes ${v.python}`, () => expect(pyDumps(v.value)).toBe(v.python));
  }

  it('writes key order as inserted, with ", " and ": "', () => {
    expect(pyDumps({ b: 1, a: [1, 'x', null], c: { d: true } })).toBe('{"b": 1, "a": [1, "x", null], "c": {"d": true}}');
  });

  it('escapes every unit outside printable ASCII in lowercase hex, and lone surrogates', () => {
    expect(pyString('\u00c9\u00ff\u0100\uabcd')).toBe('"\\u00c9\\u00ff\\u0100\\uabcd"');
    expect(pyString('\ud800x')).toBe('"\\ud800x"');
    expect(pyString('plain text/with slash')).toBe('"plain text/with slash"');
  });

  it('writes floats in Python repr and integers as digits', () => {
    expect(pyNumber(1e-5)).toBe('1e-05');
    expect(pyNumber(-2.5e-10)).toBe('-2.5e-10');
    expect(pyNumber(0.00012)).toBe('0.00012');
    expect(pyNumber(1e300)).toBe(BigInt(1e300).toString());
    expect(pyNumber(-0)).toBe('0');
    expect(pyNumber(2 ** 53 + 2)).toBe('9007199254740994');
  });

  it('honours toJSON, skips undefined members and nulls them in arrays, writes bigint', () => {
    expect(pyDumps({ a: undefined, b: () => 1, d: new Date(0), n: 10n })).toBe('{"d": "1970-01-01T00:00:00.000Z", "n": 10}');
    expect(pyDumps([undefined, () => 1])).toBe('[null, null]');
  });

  it('throws TypeError for NaN, Infinity, cycles, undefined and deep nesting', () => {
    expect(() => pyDumps(NaN)).toThrow(TypeError);
    expect(() => pyDumps([Infinity])).toThrow(TypeError);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => pyDumps(cyc)).toThrow(TypeError);
    expect(() => pyDumps(undefined)).toThrow(TypeError);
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    expect(() => pyDumps(deep)).toThrow(TypeError);
  });

  it('round-trips any JSON value through JSON.parse, in pure ASCII', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = pyDumps(value);
        expect(/^[\x20-\x7e]*$/.test(text)).toBe(true);
        // jsonValue may hold -0, which JSON cannot keep.
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300, seed: 8 },
    );
  });

  it('is Python-spaced: equal to JSON.stringify with the separators changed outside strings', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // Floats and unsafe integers print differently on purpose (see pyNumber); keep ints.
        const std = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isSafeInteger(v) ? 0 : v));
        // Re-serialise JSON.stringify's output token by token with Python's separators.
        let out = '';
        let inString = false;
        for (let i = 0; i < std.length; i++) {
          const ch = std[i]!;
          if (inString) {
            const code = ch.charCodeAt(0);
            if (ch === '\\') { out += ch + std[++i]; continue; }
            if (ch === '"') inString = false;
            out += code > 0x7e ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
            continue;
          }
          if (ch === '"') inString = true;
          out += ch === ',' ? ', ' : ch === ':' ? ': ' : ch;
        }
        expect(pyDumps(JSON.parse(std))).toBe(out);
      }),
      { numRuns: 200, seed: 9 },
    );
  });
});

describe('parseDatagram', () => {
  it('returns undefined for invalid UTF-8 or JSON and parses any spacing', () => {
    expect(parseDatagram(Uint8Array.from([0xc3]))).toBeUndefined();
    expect(parseDatagram(new TextEncoder().encode('{'))).toBeUndefined();
    expect(parseDatagram(new TextEncoder().encode('\t{ "a" :\n[ 1 ,2 ] }'))).toEqual({ a: [1, 2] });
  });
});
