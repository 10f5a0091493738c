/**
 * Fuzz targets for the parsers of the four styles that are not core components (one
 * implementation each, `dual: false`): table decoding (TableCodec), PeoteBytesInput, RPC call
 * decoding (dispatchCall / decodeArgs), UDP session words (classify, CONNECT replies, GO AWAY,
 * HELLO tokens) and event JSON (parseDatagram, readServerInbound, readClientInbound).
 *
 * Shape: each is a `FuzzTarget` (test/fuzz/targets.ts): `run(input)` is a pure function of the
 * input that returns an `Observation` and throws only when an invariant breaks. Wire them in by
 * appending `STYLE_TARGETS` to `TARGETS`; their corpora live in `test/corpus/<name>/`.
 */
import { TableCodec, type Table } from '../../src/codec/table.js';
import { readClientInbound, readServerInbound } from '../../src/events/messages.js';
import { parseDatagram, pyDumps } from '../../src/events/python-json.js';
import { PeoteBytesError } from '../../src/peote/bytes-error.js';
import { PeoteBytesInput } from '../../src/peote/peote-bytes-input.js';
import { PeoteBytesOutput } from '../../src/peote/peote-bytes-output.js';
import { defineRemote, dispatchCall, type RemoteObject } from '../../src/peote/remote.js';
import { RpcTypes } from '../../src/peote/rpc-types.js';
import { classify, encodeConnectReply, encodeHello, parseConnectReply, parseGoAway, TokenChecker, WORD_NAMES } from '../../src/udp/words.js';
import { hashBytes, type Rng } from './rng.js';
import type { FuzzTarget, Observation } from './targets.js';

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`invariant broken: ${what}`);
}

/** Digits → N, cut: a coarse reason for signatures. */
function coarse(reason: string): string {
  return reason.replace(/\d+/g, 'N').slice(0, 60);
}

/**
 * A canonical text of a decoded value that tells -0 from 0, NaN, undefined, Maps, typed arrays
 * and key order apart: two values with the same text are the same value.
 */
export function canonical(value: unknown, depth = 0): string {
  if (depth > 2000) return '…';
  if (value === undefined) return 'u';
  if (value === null) return 'n';
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : Number.isNaN(value) ? 'NaN' : String(value);
    case 'boolean':
      return value ? 't' : 'f';
    case 'string':
      return JSON.stringify(value);
    case 'bigint':
      return `${value}n`;
    case 'object':
      break;
    default:
      return typeof value;
  }
  if (value instanceof Uint8Array) return `b${Buffer.from(value).toString('hex')}`;
  if (value instanceof Map) return `M{${[...value].map(([k, v]) => `${canonical(k, depth + 1)}:${canonical(v, depth + 1)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v, depth + 1)).join(',')}]`;
  const proto = Object.getPrototypeOf(value) as unknown;
  const tag = proto === Object.prototype ? '' : proto === null ? 'null-proto' : 'class';
  return `${tag}{${Object.keys(value as object).map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k], depth + 1)}`).join(',')}}`;
}

/** A canonical text with every -0 number written as 0. */
function zeroes(text: string): string {
  return text.replace(/(?<![\w."])-0(?![\w."])/g, '0');
}

function depthOf(value: unknown, depth = 0): number {
  if (value === null || typeof value !== 'object') return depth;
  let max = depth + 1;
  for (const v of Object.values(value as object)) max = Math.max(max, depthOf(v, depth + 1));
  return max;
}

/** Object.prototype must stay clean whatever the input (prototype pollution). */
function checkPrototypes(): void {
  const probe = {} as Record<string, unknown>;
  check(Object.keys(Object.prototype).length === 0 && probe.method === undefined && probe.polluted === undefined, 'Object.prototype was modified');
}

// ---------------------------------------------------------------------------------------------
// Tables

const TABLE_DEPTHS = [64, 3, 1];
const tableCodecs = TABLE_DEPTHS.map((maxDepth) => new TableCodec({ maxDepth }));
const tableEncoder = new TableCodec({ maxDepth: 1024 });

function randomTable(rng: Rng, depth: number): Table {
  const kind = depth > 5 ? rng.int(6) : rng.int(9);
  switch (kind) {
    case 0: return null;
    case 1: return rng.oneIn(2);
    case 2: return rng.int(2 ** 32) - 2 ** 31;
    case 3: return rng.pick([0, -0, 1.5, -1e300, 2 ** 53, 2 ** 64, 127, 128, 255, 256, 65535, 65536, -32, -33]);
    case 4: return Buffer.from(rng.bytes(rng.length(40))).toString('latin1');
    case 5: return rng.pick(['', 'é', '😀', 'a'.repeat(40), 'x'.repeat(300)]);
    case 6:
    case 7: {
      const out: Table[] = [];
      for (let i = rng.length(20); i > 0; i--) out.push(randomTable(rng, depth + 1));
      return out;
    }
    default: {
      const out: { [k: string]: Table } = {};
      for (let i = rng.length(12); i > 0; i--) out[rng.pick(['a', 'b', 'key', 'x'.repeat(rng.int(40)), String(rng.int(100)), 'constructor', 'toString'])] = randomTable(rng, depth + 1);
      return out;
    }
  }
}

const TABLE_SEEDS: Table[] = [
  null, true, 0, -1, 1.5, 'hello', [], {}, [1, [2, [3, [4]]]], { a: 1, b: 'x', c: [null, false, 2.5], d: { e: {} } },
  'x'.repeat(70_000), Array.from({ length: 20 }, (_, i) => i * 1000),
];

const tableDecode: FuzzTarget = {
  name: 'table-decode',
  description: 'TableCodec.decode (mm tables, a MessagePack subset): depth limit, round trip, bounds, no prototype pollution',
  dual: false,
  maxInputBytes: 4096,
  seeds: () => TABLE_SEEDS.map((t) => Uint8Array.from(tableEncoder.encode(t))),
  generate(rng) {
    const bytes = Uint8Array.from(tableEncoder.encode(randomTable(rng, 0)));
    if (rng.oneIn(3) && bytes.length > 1) return bytes.subarray(0, rng.int(bytes.length));
    return bytes;
  },
  run(input): Observation {
    const which = hashBytes(input) % TABLE_DEPTHS.length;
    const codec = tableCodecs[which]!;
    const r = codec.decode(input, 0, input.length);
    // The same bytes inside a larger buffer decode the same: no read outside [offset, +length).
    const framed = new Uint8Array(input.length + 7).fill(0xc1);
    framed.set(input, 3);
    const r2 = codec.decode(framed, 3, input.length);
    checkPrototypes();
    const text = r.ok ? canonical(r.table) : `error ${r.error}`;
    check(text === (r2.ok ? canonical(r2.table) : `error ${r2.error}`), 'decode depends on bytes outside its range');
    if (r.ok) {
      check(depthOf(r.table) <= codec.maxDepth, `decoded depth ${depthOf(r.table)} over maxDepth ${codec.maxDepth}`);
      // A decoded table is in the subset: it encodes, and decodes back to itself.
      let again: Uint8Array;
      try {
        again = Uint8Array.from(codec.encode(r.table));
      } catch (err) {
        throw new Error(`invariant broken: a decoded table does not encode: ${(err as Error).message}`);
      }
      const back = codec.decode(again, 0, again.length);
      // msgpackr writes -0 as the integer 0: the one value a round trip may change.
      check(back.ok && zeroes(canonical(back.table)) === zeroes(text), 'decode(encode(decode(x))) differs from decode(x)');
    }
    return {
      result: `d${codec.maxDepth} ${text.length > 4000 ? `${text.length}#${hashBytes(Buffer.from(text))}` : text}`,
      signature: r.ok ? `ok ${Array.isArray(r.table) ? 'array' : r.table === null ? 'null' : typeof r.table} d${Math.min(depthOf(r.table), 4)}` : `err ${coarse(r.error)}`,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// PeoteBytesInput: the first byte holds the op count (low 4 bits) and endianness (bit 7), the
// next `count` bytes the read ops, the rest is the data read.

const BYTE_OPS = [
  'readByte', 'readBool', 'readInt8', 'readInt16', 'readUInt16', 'readInt24', 'readUInt24', 'readInt32',
  'readFloat', 'readDouble', 'readString', 'readBytes', 'readChunkSize', 'readLength',
] as const;
const FIXED_WIDTH: Partial<Record<(typeof BYTE_OPS)[number], number>> = {
  readByte: 1, readBool: 1, readInt8: 1, readInt16: 2, readUInt16: 2, readInt24: 3, readUInt24: 3, readInt32: 4, readFloat: 4, readDouble: 8,
};

const peoteBytesInput: FuzzTarget = {
  name: 'peote-bytes-input',
  description: 'PeoteBytesInput reads (joint.md §11): bounds, minimal varints, no throw but PeoteBytesError',
  dual: false,
  maxInputBytes: 2048,
  seeds() {
    const out = new PeoteBytesOutput();
    out.writeByte(7);
    out.writeInt32(-5);
    out.writeString('héllo');
    out.writeBytes(Uint8Array.of(1, 2, 3));
    out.writeDouble(Math.PI);
    out.writeChunkSize(300);
    const data = out.getBytes();
    return [
      Uint8Array.from([6, 0, 7, 10, 11, 9, 12, ...data]),
      Uint8Array.from([0x83, 13, 13, 13, 0x80, 0x80, 0x80, 0x01, 0x7f]),
      Uint8Array.from([2, 10, 10, 0xff, 0xff, 0xff, 0xff, 0x41]),
    ];
  },
  generate(rng) {
    const count = rng.int(16);
    const head = [count | (rng.oneIn(4) ? 0x80 : 0)];
    for (let i = 0; i < count; i++) head.push(rng.int(BYTE_OPS.length));
    const out = new PeoteBytesOutput({ bigEndian: (head[0]! & 0x80) !== 0 });
    for (let i = rng.int(6); i > 0; i--) {
      const k = rng.int(4);
      if (k === 0) out.writeString(Buffer.from(rng.bytes(rng.length(50))).toString('latin1'));
      else if (k === 1) out.writeBytes(rng.bytes(rng.length(50)));
      else if (k === 2) out.writeChunkSize(rng.int(2 ** 29));
      else out.writeInt32(rng.int(2 ** 31));
    }
    return Uint8Array.from([...head, ...out.getBytes(), ...rng.bytes(rng.length(8))]);
  },
  run(input): Observation {
    if (input.length === 0) return { result: 'empty', signature: 'empty' };
    const count = input[0]! & 0x0f;
    const bigEndian = (input[0]! & 0x80) !== 0;
    const ops = Array.from(input.subarray(1, 1 + count), (b) => BYTE_OPS[b % BYTE_OPS.length]!);
    const data = input.subarray(Math.min(input.length, 1 + count));
    const reader = new PeoteBytesInput(data, { bigEndian });
    const results: string[] = [];
    let error = '';
    for (const op of ops) {
      const before = reader.offset;
      check(before + reader.bytesLeft === data.length, 'offset + bytesLeft != length');
      let value: unknown;
      try {
        value = reader[op]();
      } catch (err) {
        check(err instanceof PeoteBytesError, `${op} threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
        // A length read before a failed take stays consumed (the reader is then discarded, as
        // the RPC layer does); the offset still never leaves [before, end].
        check(reader.offset >= before && reader.offset <= data.length, `${op} left the offset at ${reader.offset}`);
        if (FIXED_WIDTH[op] !== undefined) check(reader.offset === before, `${op} moved the offset on error`);
        error = `${op}: ${(err as PeoteBytesError).code}`;
        break;
      }
      const used = reader.offset - before;
      const width = FIXED_WIDTH[op];
      if (width !== undefined) check(used === width, `${op} used ${used} bytes, not ${width}`);
      check(used >= 1 && reader.offset <= data.length, `${op} used ${used} bytes`);
      const consumed = data.subarray(before, reader.offset);
      // Varints are minimal and bytes copy exactly: writing the value back gives the same bytes.
      if (op === 'readLength' || op === 'readChunkSize' || op === 'readBytes') {
        const out = new PeoteBytesOutput({ bigEndian });
        if (op === 'readBytes') out.writeBytes(value as Uint8Array);
        else out.writeChunkSize(value as number);
        check(Buffer.from(out.getBytes()).equals(consumed), `${op} is not the inverse of its writer`);
      }
      results.push(canonical(value));
    }
    return { result: `${results.join(' ')}|${error}`, signature: `${ops.length} ops ${error ? coarse(error) : 'ok'}` };
  },
};

// ---------------------------------------------------------------------------------------------
// RPC: one registry covering every argument type.

const RPC_REGISTRY = new Map<number, RemoteObject>();
const calls: unknown[][] = [];
const record = (...args: unknown[]) => void calls.push(args);
const SCALARS = defineRemote({
  nothing: [],
  ints: [RpcTypes.bool, RpcTypes.byte, RpcTypes.int16, RpcTypes.uint16, RpcTypes.int32, RpcTypes.int],
  floats: [RpcTypes.float, RpcTypes.double],
  text: [RpcTypes.string, RpcTypes.bytes],
});
const NESTED = defineRemote({
  list: [RpcTypes.array(RpcTypes.int32)],
  strings: [RpcTypes.array(RpcTypes.array(RpcTypes.string))],
  map: [RpcTypes.map(RpcTypes.string, RpcTypes.array(RpcTypes.byte))],
  intMap: [RpcTypes.intMap(RpcTypes.double), RpcTypes.stringMap(RpcTypes.bool)],
});
RPC_REGISTRY.set(0, SCALARS.implement({ nothing: record, ints: record, floats: record, text: record }));
RPC_REGISTRY.set(7, NESTED.implement({ list: record, strings: record, map: record, intMap: record }));

const rpcDecode: FuzzTarget = {
  name: 'rpc-decode',
  description: 'dispatchCall / decodeArgs (joint.md §12): refusals never throw, accepted calls re-encode to themselves',
  dual: false,
  maxInputBytes: 2048,
  seeds: () => [
    SCALARS.encodeCall(0, 'nothing', []),
    SCALARS.encodeCall(0, 'ints', [true, 255, -300, 65535, -1, 7]),
    SCALARS.encodeCall(0, 'floats', [1.5, Math.E]),
    SCALARS.encodeCall(0, 'text', ['héllo', Uint8Array.of(0, 1, 2)]),
    NESTED.encodeCall(7, 'list', [[1, 2, 3]]),
    NESTED.encodeCall(7, 'strings', [[['a'], [], ['b', 'c']]]),
    NESTED.encodeCall(7, 'map', [new Map([['k', [1, 2]]])]),
    NESTED.encodeCall(7, 'intMap', [new Map([[1, 0.5]]), new Map([['x', true]])]),
  ].map((b) => Uint8Array.from(b)),
  generate(rng) {
    const seeds = rpcDecode.seeds();
    const base = seeds[rng.int(seeds.length)]!;
    return rng.oneIn(2) ? base : Uint8Array.from([rng.pick([0, 7, rng.int(256)]), rng.int(6), ...rng.bytes(rng.length(64))]);
  },
  run(input): Observation {
    calls.length = 0;
    let reason: string | null;
    try {
      reason = dispatchCall(input, RPC_REGISTRY);
    } catch (err) {
      throw new Error(`invariant broken: dispatchCall threw ${(err as Error)?.message}`);
    }
    if (reason !== null) {
      check(calls.length === 0, 'a refused call ran');
      return { result: `refused ${reason}`, signature: `refused ${coarse(reason)}` };
    }
    check(calls.length === 1, `${calls.length} implementations ran for one call`);
    const args = calls[0]!;
    const iface = input[0] === 0 ? SCALARS : NESTED;
    const name = iface.names[input[1]!]!;
    // Accepted arguments encode, and that encoding decodes to the same arguments.
    const again = Uint8Array.from((iface.encodeCall as (id: number, n: string, a: unknown[]) => Uint8Array)(input[0]!, name, args));
    calls.length = 0;
    check(dispatchCall(again, RPC_REGISTRY) === null && calls.length === 1, 're-encoded call refused');
    check(canonical(calls[0]) === canonical(args), 're-encoded call decodes to other arguments');
    return { result: `${input[0]}.${name}(${canonical(args)})`, signature: `ok ${input[0]}.${name}` };
  },
};

// ---------------------------------------------------------------------------------------------
// UDP words

const UDP_TOKEN = 'soak-token';
const tokenChecker = new TokenChecker(Buffer.from(UDP_TOKEN, 'latin1'));
/** Longest words first where one is a prefix of another is irrelevant: a word must end at a space. */
const MODEL_WORDS: [string, number][] = [
  ['HELLO', 1], ['CONNECT', 2], ['CONNECTED', 3], ['GO AWAY!', 4], ['PING', 5], ['PONG', 6], ['CLOSE', 7], ['CLOSED', 8],
];

/** The words rule (docs/udp.md "Words"), written independently of words.ts. */
function modelClassify(bytes: Uint8Array): number {
  const s = Buffer.from(bytes).toString('latin1');
  for (const [w, code] of MODEL_WORDS) if (s === w || s.startsWith(`${w} `)) return code;
  return 0;
}

const udpWords: FuzzTarget = {
  name: 'udp-words',
  description: 'UDP session words (udpipe.md §2): classify against a model, CONNECT replies, GO AWAY causes, HELLO tokens',
  dual: false,
  maxInputBytes: 1500,
  seeds: () =>
    [
      'HELLO soak-token', 'HELLO soak-token          ', 'HELLO soak-tokenx', 'HELLO ', 'CONNECT 127.0.0.1 4000', 'CONNECT ::1 65535 x',
      'CONNECT  ', 'CONNECTED', 'GO AWAY!', 'GO AWAY! TOKEN', 'GO AWAY! FULL', 'PING', 'PONG', 'CLOSE ', 'CLOSED', 'PINGPONG', 'data',
    ].map((t) => Uint8Array.from(Buffer.from(t, 'latin1'))),
  generate(rng) {
    const word = rng.pick(['HELLO', 'CONNECT', 'CONNECTED', 'GO AWAY!', 'PING', 'PONG', 'CLOSE', 'CLOSED', '']);
    const tail = rng.pick([
      '', ' ', ` ${UDP_TOKEN}`, ` 127.0.0.1 ${rng.int(70000)}`, ` 10.0.0.${rng.int(300)} ${rng.int(99999)}`, ' TOKEN', ' FULL',
      Buffer.from(rng.bytes(rng.length(40))).toString('latin1'),
    ]);
    if (word === 'HELLO' && rng.oneIn(2)) return Uint8Array.from(encodeHello(Buffer.from(UDP_TOKEN), rng.int(80)));
    if (word === 'CONNECT' && rng.oneIn(3)) return Uint8Array.from(encodeConnectReply(rng.oneIn(2) ? '127.0.0.1' : '::1', 1 + rng.int(65535)));
    return Uint8Array.from(Buffer.from(word + tail, 'latin1'));
  },
  run(input): Observation {
    const word = classify(input);
    check(word === modelClassify(input), `classify says ${WORD_NAMES[word]}, the words rule says ${WORD_NAMES[modelClassify(input)]}`);
    const parts = [WORD_NAMES[word]!];
    const text = Buffer.from(input).toString('latin1');
    if (word === 1) {
      const ok = tokenChecker.checkHello(input);
      const presented = text.slice(6).split(' ')[0];
      check(ok === (presented === UDP_TOKEN), `checkHello says ${ok} for token ${JSON.stringify(presented)}`);
      parts.push(ok ? 'token ok' : 'token bad');
    }
    // As UdpPipe does: only a datagram classified CONNECT is parsed as a reply (parseConnectReply
    // itself does not look at the word).
    const target = word === 2 ? parseConnectReply(input) : null;
    if (target !== null) {
      check(Number.isInteger(target.port) && target.port >= 1 && target.port <= 65535, `port ${target.port} out of range`);
      check(text.startsWith(`CONNECT ${target.ip} ${target.port}`) || text.startsWith(`CONNECT ${target.ip} 0`), 'parsed target is not in the datagram');
      parts.push(`-> ${target.ip}:${target.port}`);
    }
    if (word === 4) parts.push(parseGoAway(input));
    return { result: parts.join(' '), signature: parts.map((p) => p.replace(/[0-9a-f:.]+:\d+$/, 'addr')).join(' ') };
  },
};

// ---------------------------------------------------------------------------------------------
// Event JSON

function jsonValue(rng: Rng, depth: number): unknown {
  switch (depth > 3 ? rng.int(5) : rng.int(7)) {
    case 0: return null;
    case 1: return rng.oneIn(2);
    case 2: return rng.pick([0, -0, 1, -1.5, 1e21, 1e-7, 2 ** 53 + 2, 123456789.125, 5e-324]);
    case 3: return rng.pick(['', 'x', 'é', '\u0000', '"\\', '😀', '\ud800', 'LEGAL']);
    case 4: return Buffer.from(rng.bytes(rng.length(12))).toString('latin1');
    case 5: return Array.from({ length: rng.length(5) }, () => jsonValue(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.length(5); i > 0; i--) o[rng.pick(['method', 'cuuid', 'euuid', 'event_data', 'a', 'priority', 'retry'])] = jsonValue(rng, depth + 1);
      return o;
    }
  }
}

/** True when every number inside is finite. */
function finite(value: unknown, depth = 0): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (value === null || typeof value !== 'object' || depth > 1000) return true;
  return Object.values(value as object).every((v) => finite(v, depth + 1));
}

const METHODS = ['OHAI', 'OHAI Client', 'REGISTER', 'OK REGISTER', 'BYE REGISTER', 'EVENT', 'OK EVENT', 'LEGAL', 'ILLEGAL', 'NOTIFY', 'OK NOTIFY', 'BYE EVENT', 'AUTH'];

const eventsJson: FuzzTarget = {
  name: 'events-json',
  description: 'event datagrams (neteria.md): parseDatagram, readServerInbound, readClientInbound, pyDumps round trip',
  dual: false,
  maxInputBytes: 12_000,
  seeds: () =>
    [
      '{"method": "OHAI", "version": "1.0.3", "cuuid": "c"}',
      '{"method": "REGISTER", "cuuid": "c"}',
      '{"method": "EVENT", "cuuid": "c", "euuid": "e", "event_data": {"x": [1, 2.5, null]}, "timestamp": "t", "retry": 0, "priority": "high"}',
      '{"method": "OK EVENT", "cuuid": "c", "euuid": "e"}',
      '{"method": "LEGAL", "euuid": "e", "priority": "normal"}',
      '{"method": "NOTIFY", "euuid": "e", "event_data": "\\u00e9"}',
      '{"method": "OHAI Client", "version": "1.0.3", "server_name": null}',
      '{"method":"BYE EVENT","data":"Not registered"}',
      `{"method": "REGISTER", "cuuid": "${'x'.repeat(10300)}"}`,
    ].map((t) => Uint8Array.from(Buffer.from(t))),
  generate(rng) {
    const o = jsonValue(rng, 1) as Record<string, unknown>;
    const msg = o !== null && typeof o === 'object' && !Array.isArray(o) ? { method: rng.pick(METHODS), ...o } : o;
    return Uint8Array.from(Buffer.from(rng.oneIn(2) ? pyDumps(msg) : JSON.stringify(msg) ?? 'null'));
  },
  run(input): Observation {
    const value = parseDatagram(input);
    checkPrototypes();
    const server = readServerInbound(input);
    const client = readClientInbound(input);
    if (input.length > 10_240) check(!server.ok && !client.ok, 'a datagram over 10240 bytes was accepted');
    if (value === undefined) check(!server.ok && !client.ok, 'bytes that are not JSON were accepted');
    for (const r of [server, client]) {
      if (r.ok) check(typeof r.message.method === 'string' && METHODS.includes(r.message.method), `accepted method ${String(r.message.method)}`);
    }
    if (server.ok && 'cuuid' in server.message) check(typeof server.message.cuuid === 'string', 'server message without a string cuuid');
    if (value !== undefined && finite(value)) {
      // What we parse, we can write the way Python would, and read back unchanged. (JSON.parse
      // turns 1e999 into Infinity, which pyDumps refuses by design: not valid JSON.)
      let text: string | null = null;
      try {
        text = pyDumps(value);
      } catch (err) {
        throw new Error(`invariant broken: pyDumps refused a parsed value: ${(err as Error).message}`);
      }
      const back = parseDatagram(Buffer.from(text));
      check(canonical(back) === canonical(value), 'parseDatagram(pyDumps(v)) differs from v');
    }
    const show = (r: typeof server | typeof client) => (r.ok ? `ok ${r.message.method}` : `no: ${r.reason}`);
    return {
      result: `${value === undefined ? 'not json' : 'json'} | ${show(server)} | ${show(client)}`,
      signature: `${value === undefined ? 'x' : typeof value} ${server.ok ? server.message.method : coarse(server.reason)} / ${client.ok ? client.message.method : coarse(client.reason)}`,
    };
  },
};

/** The style targets, in a stable order. */
export const STYLE_TARGETS: readonly FuzzTarget[] = [tableDecode, peoteBytesInput, rpcDecode, udpWords, eventsJson];
