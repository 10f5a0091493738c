/**
 * Tables: the MessagePack subset the `mm` style sends (docs/protocol.md §6). Values are null,
 * undefined (sent as nil), booleans, numbers, strings, arrays and plain objects, nested.
 *
 * Encoding and decoding are msgpackr's (TOOLCHAIN.md: the fastest codec measured). This file
 * adds what msgpackr does not enforce: a structural check before `pack` (so a bad table is a
 * TypeError before any byte is written) and a scan of the received bytes before `unpack` (so a
 * hostile message is rejected by its first bytes, without allocating, whatever it declares).
 */
import { Packr, Unpackr } from 'msgpackr';

/**
 * Deepest nesting of arrays and objects (levels), default 64. A table deeper than this is a
 * TypeError at send and an error at receive. Bounds msgpackr's recursion: a message of 16 MiB
 * of `0x91` bytes would otherwise nest 16 M levels and exhaust the stack.
 */
export const MAX_TABLE_DEPTH = 64;

/**
 * Highest `maxDepth` a TableCodec accepts (levels), 1024: the scan stacks are allocated at that
 * size per codec, and msgpackr recurses once per level, so deeper would risk the stack.
 */
export const MAX_TABLE_DEPTH_LIMIT = 1024;

/** A value a table may hold. */
export type TableValue = null | undefined | boolean | number | string | TableValue[] | { [key: string]: TableValue };
/** A table: any TableValue (usually an object). */
export type Table = TableValue;

/** Options of a TableCodec. */
export interface TableCodecOptions {
  /** Deepest nesting accepted (default `MAX_TABLE_DEPTH`). */
  maxDepth?: number;
}

/** The key msgpackr renames (to `__proto_`) on decode; we refuse it on both sides instead. */
const PROTO_KEY = '__proto__';
const PROTO_KEY_BYTES = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f];

/**
 * Encodes and decodes tables. One instance per endpoint: `encode` returns a view into a reused
 * buffer.
 */
export class TableCodec {
  readonly maxDepth: number;
  private readonly packr: Packr;
  private readonly unpackr: Unpackr;
  // Scan stacks: items left at each level, and whether that level is a map.
  private readonly left: Float64Array;
  private readonly isMap: Uint8Array;

  /**
   * @param options.maxDepth deepest nesting (default `MAX_TABLE_DEPTH`)
   * @throws RangeError when maxDepth is not an integer in 1..MAX_TABLE_DEPTH_LIMIT (1024)
   */
  constructor(options: TableCodecOptions = {}) {
    const maxDepth = options.maxDepth ?? MAX_TABLE_DEPTH;
    if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_TABLE_DEPTH_LIMIT) {
      throw new RangeError(`maxDepth must be an integer in 1..${MAX_TABLE_DEPTH_LIMIT}, got ${maxDepth}`);
    }
    this.maxDepth = maxDepth;
    // useRecords false: plain MessagePack maps, no msgpackr record extension on the wire.
    this.packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, moreTypes: false });
    this.unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
    this.left = new Float64Array(maxDepth + 1);
    this.isMap = new Uint8Array(maxDepth + 1);
  }

  /**
   * Encode a table.
   * @returns the MessagePack bytes, borrowed: valid until the next `encode` on this codec
   * @throws TypeError when `table` holds anything outside the subset (function, symbol, bigint,
   *   NaN, class instance, cycle, `__proto__` key, nesting deeper than maxDepth)
   */
  encode(table: Table): Uint8Array {
    try {
      checkValue(table, 0, this.maxDepth, 'table');
    } catch (err) {
      // Found only at the depth limit; name the cycle once, by where it starts and where it closes.
      if (err === CYCLE) throw new TypeError(describeCycle(table, 'table') ?? `table nests deeper than ${this.maxDepth}`);
      throw err;
    }
    return this.packr.pack(table);
  }

  /**
   * Check that `bytes[offset, +length)` is exactly one table of the subset within maxDepth,
   * reading type bytes only.
   * @returns null when valid, else the reason
   */
  scan(bytes: Uint8Array, offset: number, length: number): string | null {
    const end = offset + length;
    const left = this.left;
    const isMap = this.isMap;
    let p = offset;
    let depth = 0;
    // Level 0 is the top level: exactly one value.
    left[0] = 1;
    isMap[0] = 0;
    for (;;) {
      while (depth > 0 && left[depth] === 0) depth--;
      if (depth === 0 && left[0] === 0) break;
      if (p >= end) return 'truncated table';
      // A map level holds 2n items; an even count left means the next item is a key.
      const wantKey = isMap[depth] === 1 && left[depth]! % 2 === 0;
      left[depth]!--;
      const b = bytes[p++]!;
      let strLen = -1;
      let count = -1;
      let map = false;
      let skip = 0;
      if (b <= 0x7f || b >= 0xe0) skip = 0;
      else if (b >= 0xa0 && b <= 0xbf) strLen = b & 0x1f;
      else if (b <= 0x8f) {
        count = b & 0x0f;
        map = true;
      } else if (b <= 0x9f) count = b & 0x0f;
      else {
        switch (b) {
          case 0xc0:
          case 0xc2:
          case 0xc3:
            break;
          case 0xca: skip = 4; break;
          case 0xcb: skip = 8; break;
          case 0xcc: case 0xd0: skip = 1; break;
          case 0xcd: case 0xd1: skip = 2; break;
          case 0xce: case 0xd2: skip = 4; break;
          case 0xcf: case 0xd3: skip = 8; break;
          case 0xd9:
            if (p + 1 > end) return 'truncated table';
            strLen = bytes[p]!;
            p += 1;
            break;
          case 0xda:
            if (p + 2 > end) return 'truncated table';
            strLen = (bytes[p]! << 8) | bytes[p + 1]!;
            p += 2;
            break;
          case 0xdb:
            if (p + 4 > end) return 'truncated table';
            strLen = readU32BE(bytes, p);
            p += 4;
            break;
          case 0xdc: case 0xde:
            if (p + 2 > end) return 'truncated table';
            count = (bytes[p]! << 8) | bytes[p + 1]!;
            map = b === 0xde;
            p += 2;
            break;
          case 0xdd: case 0xdf:
            if (p + 4 > end) return 'truncated table';
            count = readU32BE(bytes, p);
            map = b === 0xdf;
            p += 4;
            break;
          default:
            // bin, ext, fixext and the never-used 0xc1: outside the table subset.
            return `unsupported MessagePack type 0x${b.toString(16)}`;
        }
      }
      if (wantKey && strLen < 0) return 'object key is not a string';
      if (strLen >= 0) {
        if (p + strLen > end) return 'truncated table';
        if (wantKey && strLen === PROTO_KEY_BYTES.length && isProtoKey(bytes, p)) return 'forbidden key __proto__';
        p += strLen;
      } else if (count >= 0) {
        if (depth + 1 > this.maxDepth) return `nesting deeper than ${this.maxDepth}`;
        const items = map ? count * 2 : count;
        // Every item takes at least one byte: a count past the bytes left is a lie.
        if (items > end - p) return 'truncated table';
        depth++;
        left[depth] = items;
        isMap[depth] = map ? 1 : 0;
      } else {
        p += skip;
        if (p > end) return 'truncated table';
      }
    }
    return p === end ? null : 'trailing bytes after table';
  }

  /**
   * Decode bytes that `scan` already accepted (the mm event queue scans at receive time and
   * decodes at poll time, so a dropped event costs no decoding).
   * @returns the table, or a reason string when msgpackr still refuses the bytes
   */
  decodeScanned(bytes: Uint8Array, offset: number, length: number): { ok: true; table: Table } | { ok: false; error: string } {
    try {
      return { ok: true, table: this.unpackr.unpack(bytes.subarray(offset, offset + length)) as Table };
    } catch (err) {
      return { ok: false, error: `invalid table: ${(err as Error).message}` };
    }
  }

  /**
   * Decode one table from `bytes[offset, +length)` after `scan` accepts it.
   * @returns the table, or a GamewireError-style reason string in `error` when it is invalid
   */
  decode(bytes: Uint8Array, offset: number, length: number): { ok: true; table: Table } | { ok: false; error: string } {
    const reason = this.scan(bytes, offset, length);
    if (reason !== null) return { ok: false, error: `invalid table: ${reason}` };
    return this.decodeScanned(bytes, offset, length);
  }
}

function readU32BE(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
}

function isProtoKey(b: Uint8Array, p: number): boolean {
  for (let i = 0; i < PROTO_KEY_BYTES.length; i++) if (b[p + i] !== PROTO_KEY_BYTES[i]) return false;
  return true;
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null) return `an instance of ${value.constructor?.name ?? 'an unknown class'}`;
  return `a ${typeof value}`;
}

/** Thrown by checkValue when the depth limit meets a cycle; `encode` then names the cycle from the root. */
const CYCLE = Symbol('cycle');

/**
 * Throw a TypeError naming the path of the first value outside the subset. Depth doubles as
 * the cycle guard: a cycle nests without end, so it trips the depth check, and only then do we
 * pay for finding out whether it was a cycle.
 */
function checkValue(value: unknown, depth: number, maxDepth: number, path: string): void {
  switch (typeof value) {
    case 'number':
      // NaN would arrive as something else on some peers (null in JSON-minded ones, an unusable
      // key in Lua): refused rather than changed in transit. ±Infinity travel as float64 exactly.
      if (value !== value) throw new TypeError(`${path} is NaN; tables hold numbers other than NaN`);
      return;
    case 'string':
    case 'boolean':
    case 'undefined':
      return;
    case 'object': {
      if (value === null) return;
      if (depth >= maxDepth) {
        if (hasCycle(value, [])) throw CYCLE;
        throw new TypeError(`${path} nests deeper than ${maxDepth}`);
      }
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) checkValue(value[i], depth + 1, maxDepth, `${path}[${i}]`);
        return;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new TypeError(`${path} is ${describe(value)}, not a plain object`);
      if (Object.getOwnPropertySymbols(value).length > 0) throw new TypeError(`${path} has a symbol key`);
      for (const key in value) {
        if (key === PROTO_KEY) throw new TypeError(`${path} has the key __proto__`);
        checkValue((value as Record<string, unknown>)[key], depth + 1, maxDepth, `${path}.${key}`);
      }
      return;
    }
    default:
      throw new TypeError(`${path} is ${describe(value)}; tables hold null, booleans, numbers, strings, arrays and plain objects`);
  }
}

/**
 * `table.a.b refers back to table.a (a cycle)` for the first cycle met depth-first from `root`,
 * or null when there is none.
 */
function describeCycle(root: unknown, rootPath: string): string | null {
  const values: unknown[] = [];
  const paths: string[] = [];
  const walk = (value: unknown, path: string): string | null => {
    if (typeof value !== 'object' || value === null) return null;
    const at = values.indexOf(value);
    if (at >= 0) return `${path} refers back to ${paths[at]} (a cycle); tables must be trees`;
    values.push(value);
    paths.push(path);
    const entries = Array.isArray(value) ? value.map((v, i) => [`${path}[${i}]`, v] as const) : Object.entries(value).map(([k, v]) => [`${path}.${k}`, v] as const);
    for (const [childPath, child] of entries) {
      const found = walk(child, childPath);
      if (found !== null) return found;
    }
    values.pop();
    paths.pop();
    return null;
  };
  return walk(root, rootPath);
}

function hasCycle(value: unknown, ancestors: unknown[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (ancestors.includes(value)) return true;
  ancestors.push(value);
  for (const child of Object.values(value)) if (hasCycle(child, ancestors)) return true;
  ancestors.pop();
  return false;
}
