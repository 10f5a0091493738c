/**
 * Argument types of remote functions (joint.md §12), declared as data instead of Haxe macros.
 * Each type knows how to write and read its value with PeoteBytes; `T` is the TypeScript type
 * of its values, so proxies are typed.
 */
import type { PeoteBytesInput } from './peote-bytes-input.js';
import type { PeoteBytesOutput } from './peote-bytes-output.js';
import { PeoteBytesError } from './bytes-error.js';
import { RPC_MAX_ELEMENTS } from './limits.js';
import { describeType } from '../core/validate.js';

/** One argument type. */
export interface RpcType<T> {
  /** For messages and docs: `int32`, `array<string>`... */
  readonly name: string;
  write(out: PeoteBytesOutput, value: T): void;
  read(input: PeoteBytesInput): T;
  /** Nesting depth: 1 for scalars. */
  readonly depth: number;
}

function scalar<T>(name: string, write: (o: PeoteBytesOutput, v: T) => void, read: (i: PeoteBytesInput) => T): RpcType<T> {
  return { name, write, read, depth: 1 };
}

/** A count read from the wire, checked before anything is allocated for it. */
function readCount(input: PeoteBytesInput, minBytesPerElement: number): number {
  const count = input.readLength();
  if (count > RPC_MAX_ELEMENTS || count * minBytesPerElement > input.bytesLeft) {
    throw new PeoteBytesError('GW_ERR_BYTES_RANGE', `element count ${count} exceeds what ${input.bytesLeft} bytes can hold`);
  }
  return count;
}

/** The smallest encoding of one value of a type, in bytes (for count checks). */
const MIN_BYTES = new WeakMap<RpcType<unknown>, number>();
function minBytes(type: RpcType<unknown>): number {
  return MIN_BYTES.get(type) ?? 1;
}

/**
 * The argument types of joint.md §12. Arrays, vectors and lists share one encoding;
 * `null` for an array is sent as count 0 and arrives as an empty array.
 */
export const RpcTypes = {
  bool: scalar<boolean>('bool', (o, v) => o.writeBool(v), (i) => i.readBool()),
  byte: scalar<number>('byte', (o, v) => o.writeByte(v), (i) => i.readByte()),
  int16: scalar<number>('int16', (o, v) => o.writeInt16(v), (i) => i.readInt16()),
  uint16: scalar<number>('uint16', (o, v) => o.writeUInt16(v), (i) => i.readUInt16()),
  int32: scalar<number>('int32', (o, v) => o.writeInt32(v), (i) => i.readInt32()),
  /** Haxe `Int`: the same 4 bytes as int32. */
  int: scalar<number>('int', (o, v) => o.writeInt32(v), (i) => i.readInt32()),
  float: scalar<number>('float', (o, v) => o.writeFloat(v), (i) => i.readFloat()),
  double: scalar<number>('double', (o, v) => o.writeDouble(v), (i) => i.readDouble()),
  string: scalar<string>('string', (o, v) => o.writeString(v), (i) => i.readString()),
  bytes: scalar<Uint8Array>('bytes', (o, v) => o.writeBytes(v), (i) => i.readBytes()),

  /** `Array<T>`, `Vector<T>`, `List<T>`: varint(count) then the elements. */
  array<T>(element: RpcType<T>): RpcType<T[] | null> {
    return {
      name: `array<${element.name}>`,
      depth: element.depth + 1,
      write(out, value) {
        const items = value ?? [];
        out.writeChunkSize(items.length);
        for (const item of items) element.write(out, item);
      },
      read(input) {
        const count = readCount(input, minBytes(element));
        const items: T[] = new Array(count);
        for (let i = 0; i < count; i++) items[i] = element.read(input);
        return items;
      },
    };
  },

  /**
   * `Map<K,V>`: varint(count) then (key, value) pairs in the sender's iteration order. `null`
   * (or `undefined`) is sent as count 0 and arrives as an empty Map, as Haxe peote-net sends a
   * null Map and as `array(T)` sends null.
   */
  map<K, V>(key: RpcType<K>, value: RpcType<V>): RpcType<Map<K, V> | null> {
    return {
      name: `map<${key.name},${value.name}>`,
      depth: Math.max(key.depth, value.depth) + 1,
      write(out, map) {
        if (map === null || map === undefined) {
          out.writeChunkSize(0);
          return;
        }
        if (!(map instanceof Map)) throw new TypeError(`a map<${key.name},${value.name}> argument must be a Map or null, got ${describeType(map)}`);
        out.writeChunkSize(map.size);
        for (const [k, v] of map) {
          key.write(out, k);
          value.write(out, v);
        }
      },
      read(input) {
        const count = readCount(input, minBytes(key) + minBytes(value));
        const map = new Map<K, V>();
        for (let i = 0; i < count; i++) {
          const k = key.read(input);
          map.set(k, value.read(input));
        }
        return map;
      },
    };
  },

  /** `IntMap<V>`: int32 keys; null is sent as count 0 (as `map`). */
  intMap<V>(value: RpcType<V>): RpcType<Map<number, V> | null> {
    return { ...RpcTypes.map(RpcTypes.int32, value), name: `intMap<${value.name}>` };
  },

  /** `StringMap<V>`: string keys; null is sent as count 0 (as `map`). */
  stringMap<V>(value: RpcType<V>): RpcType<Map<string, V> | null> {
    return { ...RpcTypes.map(RpcTypes.string, value), name: `stringMap<${value.name}>` };
  },
};

for (const [type, bytes] of [
  [RpcTypes.int16, 2],
  [RpcTypes.uint16, 2],
  [RpcTypes.int32, 4],
  [RpcTypes.int, 4],
  [RpcTypes.float, 4],
  [RpcTypes.double, 8],
] as const) {
  MIN_BYTES.set(type as RpcType<unknown>, bytes);
}

/** The TypeScript value type of an RpcType. */
export type RpcValue<R> = R extends RpcType<infer T> ? T : never;

/** The TypeScript argument tuple of a list of RpcTypes. */
export type RpcArgs<A extends readonly RpcType<any>[]> = { [K in keyof A]: RpcValue<A[K]> };
