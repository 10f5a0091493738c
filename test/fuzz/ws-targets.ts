/**
 * Fuzz targets for the native engine's WebSocket codec (native/ws-handshake.cc,
 * native/ws-frame.cc) through its test-only binding (test/native/ws-model.ts). There is no
 * TypeScript twin (the Node engine uses `ws`), so they are `dual: false`: each run checks the
 * native result against itself fed whole, split and byte by byte, and against the reference
 * model of ws-model.ts; and the memory held stays within the limits. Without the addon
 * (GAMEWIRE_NATIVE=0) the frame target checks only the model and the handshake target nothing.
 */
import {
  clientFrame,
  closePayload,
  HANDSHAKE_ACCEPTED,
  HANDSHAKE_NEED_MORE,
  HANDSHAKE_REJECTED,
  modelDecode,
  wsCodec,
  WsKind,
  WS_FLAG_IN_CARRY,
  type WsDecoderOptionsJs,
  type WsFeedResult,
} from '../native/ws-model.js';
import { hashBytes, splitLengths, type Rng } from './rng.js';
import type { FuzzTarget, Observation } from './targets.js';

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`invariant broken: ${what}`);
}

function pieces(input: Uint8Array, seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const n of splitLengths(input.length, seed)) {
    out.push(input.subarray(at, at + n));
    at += n;
  }
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const NO_ADDON: Observation = { result: 'no addon', signature: 'no addon' };

// ---------------------------------------------------------------------------------------------
// ws-handshake

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const STATUSES = [101, 400, 405, 426, 431];

function handshakeRun(reads: Uint8Array[]) {
  const h = new wsCodec!.WsHandshake();
  let at = 0;
  for (const r of reads) {
    const out = h.feed(r);
    check(out.consumed <= r.length, 'consumed within the read');
    check(out.bufferCapacity <= 2 * wsCodec!.constants.MAX_HANDSHAKE_BYTES, `buffer ${out.bufferCapacity} within the limit`);
    if (out.result !== HANDSHAKE_NEED_MORE) return { result: out.result, status: out.status, reason: out.reason, response: hex(out.response), end: at + out.consumed };
    check(out.consumed === r.length, 'a read before the end is consumed whole');
    at += r.length;
  }
  return { result: HANDSHAKE_NEED_MORE, status: 0, reason: '', response: '', end: at };
}

function handshakeGenerate(rng: Rng): Uint8Array {
  const headers: string[] = [];
  const pick = <T>(xs: T[]) => xs[rng.int(xs.length)]!;
  const casing = (s: string) => (rng.oneIn(3) ? s.toUpperCase() : rng.oneIn(2) ? s.toLowerCase() : s);
  const ows = () => pick(['', ' ', '  ', '\t']);
  if (!rng.oneIn(8)) headers.push(`${casing('Host')}:${ows()}h${ows()}`);
  if (!rng.oneIn(8)) headers.push(`${casing('Upgrade')}:${ows()}${pick(['websocket', 'WebSocket', 'h2c', '', 'websocket, x'])}`);
  if (!rng.oneIn(8)) headers.push(`${casing('Connection')}: ${pick(['Upgrade', 'keep-alive, upgrade', 'close', 'upgrade,,'])}`);
  if (!rng.oneIn(8)) headers.push(`${casing('Sec-WebSocket-Key')}: ${pick([KEY, KEY.slice(1), `${KEY}=`, 'AAAAAAAAAAAAAAAAAAAAAA==', '!AAAAAAAAAAAAAAAAAAAAA=='])}`);
  if (!rng.oneIn(8)) headers.push(`${casing('Sec-WebSocket-Version')}: ${pick(['13', '8', '13, 8', ' 13', '013'])}`);
  if (rng.oneIn(3)) headers.push(`Sec-WebSocket-Protocol: ${pick(['joint', 'a, b', 'a, a', 'a b', ',a', ''])}`);
  if (rng.oneIn(6)) headers.push(pick(['Content-Length: 0', 'Content-Length: 3', 'Transfer-Encoding: chunked', ' folded', 'X : y', 'X: \x01']));
  for (let i = rng.int(4); i > 0; i--) headers.push(`X-${rng.int(1000)}: ${'v'.repeat(rng.length(rng.oneIn(20) ? 17000 : 200))}`);
  for (let i = headers.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [headers[i], headers[j]] = [headers[j]!, headers[i]!];
  }
  const line = pick(['GET / HTTP/1.1', 'GET /joint?x=1 HTTP/1.1', 'POST / HTTP/1.1', 'GET / HTTP/1.0', 'GET  / HTTP/1.1', 'G']);
  const eol = rng.oneIn(10) ? '\n' : '\r\n';
  const text = `${line}${eol}${headers.map((h) => `${h}${eol}`).join('')}${rng.oneIn(10) ? '' : eol}`;
  const tail = rng.oneIn(2) ? clientFrame({ opcode: 2, payload: Buffer.from('after') }) : Buffer.alloc(0);
  return Uint8Array.from(Buffer.concat([Buffer.from(text, 'latin1'), tail]));
}

const wsHandshakeTarget: FuzzTarget = {
  name: 'ws-handshake',
  description: 'native WebSocket upgrade request parser (RFC 6455 §4.2): split invariance, statuses, bounded buffer',
  dual: false,
  maxInputBytes: 20000,
  seeds: () => [
    Buffer.from(`GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`),
    Buffer.from(`GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 8\r\n\r\n\x82\x80abcd`),
    Buffer.from('GET / HTTP/1.1\r\nHost: h\r\n\r\n'),
  ],
  generate: handshakeGenerate,
  run(input): Observation {
    if (!wsCodec) return NO_ADDON;
    const whole = handshakeRun([input]);
    const split = handshakeRun(pieces(input, hashBytes(input)));
    check(JSON.stringify(split) === JSON.stringify(whole), `split reads give the same answer: ${JSON.stringify(whole).slice(0, 200)} vs ${JSON.stringify(split).slice(0, 200)}`);
    if (input.length <= 2048) {
      const bytewise = handshakeRun(Array.from(input, (_, i) => input.subarray(i, i + 1)));
      check(JSON.stringify(bytewise) === JSON.stringify(whole), 'byte-by-byte reads give the same answer');
    }
    if (whole.result !== HANDSHAKE_NEED_MORE) {
      check(STATUSES.includes(whole.status), `status ${whole.status}`);
      check((whole.status === 101) === (whole.result === HANDSHAKE_ACCEPTED), 'accepted exactly with 101');
      const response = Buffer.from(whole.response, 'hex').toString('latin1');
      check(response.startsWith(`HTTP/1.1 ${whole.status} `) && response.includes('\r\n\r\n'), 'a complete HTTP response');
      // The request ends with its blank line.
      check(Buffer.from(input.subarray(whole.end - 4, whole.end)).toString('latin1') === '\r\n\r\n' || whole.status === 431, 'the request ends at CRLF CRLF');
      if (whole.result === HANDSHAKE_REJECTED) check(/\r\nConnection: close\r\n/.test(response), 'a refusal closes');
    } else check(input.length < wsCodec.constants.MAX_HANDSHAKE_BYTES, 'never waits past the limit');
    return { result: `${whole.result}:${whole.status}:${whole.end}:${whole.response}`, signature: `${whole.result}:${whole.status}:${whole.reason}:${/Sec-WebSocket-Protocol/.test(Buffer.from(whole.response, 'hex').toString('latin1'))}` };
  },
};

// ---------------------------------------------------------------------------------------------
// ws-frame

const MAX_MESSAGE_CHOICES = [65536, 1, 5, 125, 126, 1000];
const MAX_FRAGMENT_CHOICES = [0, 1, 3];
const MAX_EVENT_CHOICES = [1024, 1, 2, 3];

/** Byte 0 picks the options: bit 0 delivery, bits 1-3 the message limit, 4-5 fragments, 6 UTF-8. */
function frameOptions(b: number): Required<WsDecoderOptionsJs> & { maxEvents: number } {
  return {
    message: (b & 1) !== 0,
    maxMessageBytes: MAX_MESSAGE_CHOICES[((b >> 1) & 7) % MAX_MESSAGE_CHOICES.length]!,
    maxFragments: MAX_FRAGMENT_CHOICES[((b >> 4) & 3) % MAX_FRAGMENT_CHOICES.length]!,
    validateUtf8: (b & 0x40) === 0,
    maxEvents: MAX_EVENT_CHOICES[(b >> 7) + ((b >> 2) & 2)]!,
  };
}

interface FrameRun {
  /** Stream: data concatenated; message: each message. */
  data: string[];
  controls: string[];
  errorClose: number;
  closed: boolean;
}

function frameRun(o: WsDecoderOptionsJs, maxEvents: number, reads: Uint8Array[]): FrameRun {
  const d = new wsCodec!.WsDecoder(o);
  const out: FrameRun = { data: [], controls: [], errorClose: 0, closed: false };
  for (const read of reads) {
    let rest = read;
    for (let guard = 0; ; guard++) {
      check(guard <= read.length + 1, 'feed makes progress');
      const r: WsFeedResult = d.feed(rest, maxEvents);
      check(r.events.length <= maxEvents && r.consumed <= rest.length, 'events and consumed within bounds');
      check(r.carryCapacity <= Math.max(256, 2 * o.maxMessageBytes!), `carry ${r.carryCapacity} within the message limit`);
      r.events.forEach((e, i) => {
        if (e.flags & WS_FLAG_IN_CARRY) check(i === r.events.length - 1, 'a carry event ends the feed');
        if (e.kind === WsKind.Data) {
          if (!o.message) check(e.data.length > 0, 'no empty pieces in stream delivery');
          out.data.push(hex(e.data));
        } else {
          check(e.data.length <= 125, 'control payload within 125 bytes');
          out.controls.push(`${e.kind}:${e.closeCode}:${hex(e.data)}@${out.data.length}`);
        }
      });
      if (r.error !== 0) {
        check(r.closeCode === 1002 || r.closeCode === 1007 || r.closeCode === 1008 || r.closeCode === 1009, `close code ${r.closeCode}`);
        out.errorClose = r.closeCode;
        return out;
      }
      if (r.closed) {
        check(r.events.length > 0 && r.events[r.events.length - 1]!.kind === WsKind.Close, 'closed after a close event');
        out.closed = true;
        return out;
      }
      if (r.consumed === rest.length) break;
      rest = rest.subarray(r.consumed);
    }
  }
  return out;
}

/** Stream delivery: data pieces joined (their boundaries follow the reads). */
function joined(run: FrameRun, message: boolean): FrameRun {
  if (message) return run;
  // Control positions count data pieces; in stream delivery they count bytes instead.
  let bytes = 0;
  const at: number[] = [];
  for (const p of run.data) at.push((bytes += p.length / 2));
  const controls = run.controls.map((c) => {
    const [head, n] = c.split('@');
    return `${head}@${Number(n) === 0 ? 0 : at[Number(n) - 1]}`;
  });
  return { ...run, data: [run.data.join('')], controls };
}

function frameGenerate(rng: Rng): Uint8Array {
  const out: Buffer[] = [Buffer.from([rng.u32() & 0xff])];
  let inMessage = false;
  for (let i = rng.range(1, 12); i > 0; i--) {
    const roll = rng.int(20);
    const mask = [rng.u32() & 0xff, rng.u32() & 0xff, rng.u32() & 0xff, rng.u32() & 0xff] as [number, number, number, number];
    const payload = (n: number) => Buffer.from(Array.from({ length: n }, () => (rng.oneIn(2) ? 0x61 + rng.int(26) : rng.u32() & 0xff)));
    const text = () => Buffer.from(['abc', 'tëxt', '€✓', '😀', ''][rng.int(5)]!);
    const lengthBits = rng.oneIn(6) ? ([7, 16, 64] as const)[rng.int(3)] : undefined;
    const fin = !rng.oneIn(3);
    if (roll < 8) {
      const opcode = inMessage && !rng.oneIn(10) ? 0 : rng.oneIn(2) ? 1 : 2;
      const body = opcode === 1 || rng.oneIn(3) ? text() : payload(rng.length(rng.oneIn(10) ? 70000 : 300));
      const fits = lengthBits === undefined || (lengthBits === 7 ? body.length <= 125 : lengthBits === 64 || body.length <= 65535);
      out.push(clientFrame({ opcode, payload: body, fin, mask, lengthBits: fits ? lengthBits : undefined }));
      inMessage = !fin;
    } else if (roll < 12) {
      out.push(clientFrame({ opcode: rng.oneIn(2) ? 9 : 10, payload: payload(rng.length(rng.oneIn(10) ? 130 : 125)).subarray(0, rng.oneIn(10) ? 126 : 125), mask, fin: !rng.oneIn(20) }));
    } else if (roll < 13) {
      const code = [1000, 1001, 1005, 999, 3000, 4999, 5000, 1015][rng.int(8)]!;
      out.push(clientFrame({ opcode: 8, payload: rng.oneIn(5) ? Buffer.alloc(rng.int(2)) : closePayload(code, rng.oneIn(4) ? '\xff' : 'bye'), mask }));
    } else if (roll < 15) {
      out.push(clientFrame({ opcode: rng.int(16), payload: payload(rng.length(20)), fin, rsv: rng.oneIn(2) ? 0 : (rng.int(7) + 1) << 4, masked: !rng.oneIn(4), mask }));
    } else if (roll < 16) {
      out.push(clientFrame({ opcode: 2, payload: Buffer.alloc(0), announcedLength: rng.oneIn(2) ? 1n << 63n : BigInt(rng.u32()) * 65536n, lengthBits: 64, mask }));
    } else {
      out.push(clientFrame({ opcode: inMessage ? 0 : 2, payload: payload(rng.length(40)), fin, mask }));
      inMessage = !fin;
    }
  }
  return Uint8Array.from(Buffer.concat(out));
}

const wsFrameTarget: FuzzTarget = {
  name: 'ws-frame',
  description: 'native WebSocket frame decoder (RFC 6455 §5): model, split invariance, close codes, bounded carry; byte 0 picks options',
  dual: false,
  maxInputBytes: 140000,
  seeds: () => [
    Uint8Array.from(Buffer.concat([Buffer.from([0]), clientFrame({ opcode: 2, payload: Buffer.from('hello') })])),
    Uint8Array.from(
      Buffer.concat([
        Buffer.from([1]),
        clientFrame({ opcode: 1, payload: Buffer.from('të'), fin: false }),
        clientFrame({ opcode: 9, payload: Buffer.from('p') }),
        clientFrame({ opcode: 0, payload: Buffer.from('xt') }),
        clientFrame({ opcode: 8, payload: closePayload(1000, 'bye') }),
      ]),
    ),
    Uint8Array.from(Buffer.concat([Buffer.from([0]), clientFrame({ opcode: 2, payload: Buffer.alloc(65537) }).subarray(0, 14)])),
  ],
  generate: frameGenerate,
  run(input): Observation {
    if (input.length === 0) return { result: '', signature: 'empty' };
    const o = frameOptions(input[0]!);
    const body = input.subarray(1);
    const model = modelDecode(body, o);
    const modelRun: FrameRun = {
      data: model.items.filter((i) => i.kind === WsKind.Data).map((i) => hex(i.data)),
      controls: [],
      errorClose: model.errorClose,
      closed: model.closed,
    };
    let n = 0;
    for (const i of model.items) {
      if (i.kind === WsKind.Data) n++;
      else modelRun.controls.push(`${i.kind}:${i.closeCode}:${hex(i.data)}@${n}`);
    }
    const expected = joined(modelRun, o.message);
    const signature = `${model.errorClose}|${model.closed}|${o.message ? 'm' : 's'}|${[...new Set(model.items.map((i) => i.kind))].sort().join('')}`;
    if (!wsCodec) return { result: JSON.stringify(expected), signature };
    const copy = () => Uint8Array.from(body);
    const whole = joined(frameRun(o, o.maxEvents, [copy()]), o.message);
    check(JSON.stringify(whole) === JSON.stringify(expected), `whole feed = model: ${JSON.stringify(whole).slice(0, 300)} vs ${JSON.stringify(expected).slice(0, 300)}`);
    const splitRuns = [joined(frameRun(o, o.maxEvents, pieces(copy(), hashBytes(input))), o.message)];
    if (body.length <= 4096) splitRuns.push(joined(frameRun(o, o.maxEvents, Array.from(copy(), (_, i) => body.subarray(i, i + 1)).map((b) => Uint8Array.from(b))), o.message));
    for (const split of splitRuns) {
      check(split.errorClose === whole.errorClose && split.closed === whole.closed, `split reads give the same end: ${split.errorClose}/${split.closed} vs ${whole.errorClose}/${whole.closed}`);
      if (o.message || whole.errorClose === 0) check(JSON.stringify(split) === JSON.stringify(whole), 'split reads give the same events');
      else {
        // Stream delivery hands out a bad text frame's earlier pieces before the bad byte arrives.
        check(split.data[0]!.startsWith(whole.data[0]!), 'split stream data extends the whole-feed data');
        check(JSON.stringify(split.controls) === JSON.stringify(whole.controls), 'split reads give the same control events');
      }
    }
    return { result: JSON.stringify(whole), signature };
  },
};

export const WS_TARGETS: readonly FuzzTarget[] = [wsHandshakeTarget, wsFrameTarget];
