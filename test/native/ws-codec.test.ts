/**
 * The native engine's WebSocket codec (native/ws-handshake.{h,cc}, native/ws-frame.{h,cc}) through
 * its test-only binding: the handshake against RFC 6455's example, node:crypto and a real `ws`
 * server; the decoder and encoder against a real `ws` client over loopback (masking,
 * fragmentation, ping/pong, close, 1009), every error with its close code, split and
 * byte-at-a-time feeding against the reference model of test/native/ws-model.ts.
 *
 * Native only: the fallback has no engine, so on GAMEWIRE_NATIVE=0 (or without the addon) the
 * suite is skipped, and says so.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import {
  clientFrame,
  closePayload,
  HANDSHAKE_ACCEPTED,
  HANDSHAKE_NEED_MORE,
  HANDSHAKE_REJECTED,
  modelDecode,
  WS_FLAG_IN_CARRY,
  WS_FLAG_TEXT,
  wsCodec,
  WsKind,
  type WsDecoderOptionsJs,
  type WsEventJs,
  type WsFeedResult,
} from './ws-model.js';

const SKIP_NOTE = wsCodec ? '' : ' [skipped: native only, the fallback has no engine (GAMEWIRE_NATIVE=0 or no addon)]';
if (!wsCodec) console.log(`ws-codec.test.ts:${SKIP_NOTE}`);

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function request(headers: Record<string, string> | string[], line = 'GET /chat HTTP/1.1'): Buffer {
  const list = Array.isArray(headers) ? headers : Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  return Buffer.from(`${line}\r\n${list.map((h) => `${h}\r\n`).join('')}\r\n`);
}

const GOOD = { Host: 'server.example.com', Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': RFC_KEY, 'Sec-WebSocket-Version': '13' };

/** Feeds `bytes` in pieces of the given lengths to a fresh handshake; the final feed's result. */
function handshakeIn(bytes: Buffer, pieces: number[]) {
  const h = new wsCodec!.WsHandshake();
  let at = 0;
  let last = h.feed(Buffer.alloc(0));
  let requestEnd = -1;
  for (const n of pieces) {
    last = h.feed(bytes.subarray(at, at + n));
    if (last.result !== HANDSHAKE_NEED_MORE) {
      requestEnd = at + last.consumed;
      break;
    }
    expect(last.consumed).toBe(Math.min(n, bytes.length - at));
    at += n;
  }
  return { ...last, requestEnd };
}

type Decoder = InstanceType<NonNullable<typeof wsCodec>['WsDecoder']>;

interface Decoded {
  events: WsEventJs[];
  closeCode: number;
  errorText: string;
  closed: boolean;
  maxCarry: number;
}

/** Feeds each piece, refeeding the rest while the decoder stops early (events full, carry). */
function feedAll(d: Decoder, pieces: Uint8Array[], maxEvents?: number): Decoded {
  const out: Decoded = { events: [], closeCode: 0, errorText: '', closed: false, maxCarry: 0 };
  for (const piece of pieces) {
    let rest = piece;
    for (let guard = 0; guard <= piece.length + 1; guard++) {
      const r: WsFeedResult = d.feed(rest, maxEvents);
      out.events.push(...r.events);
      out.maxCarry = Math.max(out.maxCarry, r.carryCapacity);
      if (r.error !== 0) return { ...out, closeCode: r.closeCode, errorText: r.errorText, closed: r.closed };
      if (r.closed) return { ...out, closed: true };
      expect(r.consumed).toBeLessThanOrEqual(rest.length);
      if (r.consumed === rest.length) break;
      // Early stops only when the events are full or after a carry event.
      const lastEvent = r.events[r.events.length - 1];
      expect(r.events.length === (maxEvents ?? 1024) || (lastEvent !== undefined && (lastEvent.flags & WS_FLAG_IN_CARRY) !== 0)).toBe(true);
      rest = rest.subarray(r.consumed);
    }
  }
  return out;
}

function splitEvery(bytes: Uint8Array, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += n) out.push(bytes.subarray(i, i + n));
  return out;
}

/** Data bytes concatenated, and the control events as text, for comparisons across splits. */
function summary(d: Decoded): { data: string; controls: string[]; closeCode: number } {
  return {
    data: Buffer.concat(d.events.filter((e) => e.kind === WsKind.Data).map((e) => e.data)).toString('hex'),
    controls: d.events.filter((e) => e.kind !== WsKind.Data).map((e) => `${e.kind}:${e.closeCode}:${e.data.toString('hex')}`),
    closeCode: d.closeCode,
  };
}

function decodeWhole(bytes: Uint8Array, options: WsDecoderOptionsJs = {}): Decoded {
  return feedAll(new wsCodec!.WsDecoder(options), [Uint8Array.from(bytes)]);
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A loopback TCP server whose one connection is answered by the codec under test. */
class CodecServer {
  readonly events: WsEventJs[] = [];
  closeCode = 0;
  socket: Socket | undefined;
  response: Buffer = Buffer.alloc(0);
  request: Buffer = Buffer.alloc(0);
  private readonly server: Server;
  private readonly handshake = new wsCodec!.WsHandshake();
  private readonly decoder: Decoder;
  private accepted = false;

  constructor(options: WsDecoderOptionsJs = {}) {
    this.decoder = new wsCodec!.WsDecoder(options);
    this.server = createServer((socket) => {
      this.socket = socket;
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
    });
    cleanups.push(() => {
      this.socket?.destroy();
      this.server.close();
    });
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  write(bytes: Uint8Array): void {
    this.socket!.write(bytes);
  }

  private onData(chunk: Buffer): void {
    let rest = chunk;
    if (!this.accepted) {
      const r = this.handshake.feed(chunk);
      this.request = Buffer.concat([this.request, chunk.subarray(0, r.consumed)]);
      if (r.result === HANDSHAKE_NEED_MORE) return;
      this.response = r.response;
      this.socket!.write(r.response);
      if (r.result === HANDSHAKE_REJECTED) {
        this.socket!.end();
        return;
      }
      this.accepted = true;
      rest = chunk.subarray(r.consumed);
    }
    const d = feedAll(this.decoder, [rest]);
    this.events.push(...d.events);
    if (d.closeCode !== 0 && this.closeCode === 0) {
      this.closeCode = d.closeCode;
      this.socket!.end(wsCodec!.encodeClose(d.closeCode));
    }
  }

  /** Waits (bounded) until `test` holds. */
  async until(test: () => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!test()) {
      if (Date.now() > end) throw new Error('timed out waiting for the codec server');
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

function openClient(port: number, protocols?: string[]): WebSocket {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/joint`, protocols);
  ws.on('error', () => {});
  cleanups.push(() => ws.terminate());
  return ws;
}

describe.skipIf(!wsCodec)(`the native WebSocket handshake${SKIP_NOTE}`, () => {
  it('answers the RFC 6455 §1.3 example with its accept key, and reports where the request ends', () => {
    const req = request(GOOD);
    const frames = clientFrame({ opcode: 2, payload: Buffer.from([1, 2, 3]) });
    const r = handshakeIn(Buffer.concat([req, frames]), [req.length + frames.length]);
    expect(r.result).toBe(HANDSHAKE_ACCEPTED);
    expect(r.status).toBe(101);
    expect(r.requestEnd).toBe(req.length);
    expect(r.response.toString()).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    );
    expect(wsCodec!.acceptKey(RFC_KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('computes the accept key as base64(SHA-1(key + GUID)) for any key length (node:crypto as reference)', () => {
    for (let n = 0; n < 140; n += 7) {
      const key = randomBytes(n).toString('latin1').replace(/[^\x20-\x7e]/g, 'k');
      expect(wsCodec!.acceptKey(key)).toBe(createHash('sha1').update(key + GUID).digest('base64'));
    }
  });

  it('gives the same accept key as a real ws server for the same request', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => wss.close());
    await once(wss, 'listening');
    const key = randomBytes(16).toString('base64');
    const sock = createConnection((wss.address() as AddressInfo).port, '127.0.0.1');
    cleanups.push(() => sock.destroy());
    const req = request({ ...GOOD, Host: '127.0.0.1', 'Sec-WebSocket-Key': key });
    sock.write(req);
    const [chunk] = (await once(sock, 'data')) as [Buffer];
    const theirs = /sec-websocket-accept: (\S+)/i.exec(chunk.toString())![1];
    const ours = handshakeIn(req, [req.length]);
    expect(ours.response.toString()).toContain(`Sec-WebSocket-Accept: ${theirs}\r\n`);
  });

  it('gives the same result fed whole, split at every byte, and one byte at a time', () => {
    const req = request({ ...GOOD, 'Sec-WebSocket-Protocol': 'joint, other', Origin: 'http://x' });
    const whole = handshakeIn(req, [req.length]);
    expect(whole.response.toString()).toContain('Sec-WebSocket-Protocol: joint\r\n');
    for (let cut = 1; cut < req.length; cut++) {
      const r = handshakeIn(req, [cut, req.length - cut]);
      expect([r.result, r.requestEnd, r.response.toString()]).toEqual([whole.result, whole.requestEnd, whole.response.toString()]);
    }
    const bytewise = handshakeIn(req, Array(req.length).fill(1));
    expect([bytewise.result, bytewise.requestEnd, bytewise.response.toString()]).toEqual([whole.result, whole.requestEnd, whole.response.toString()]);
  });

  const { Upgrade: _u, ...noUpgrade } = GOOD;
  const { Host: _h, ...noHost } = GOOD;
  const { 'Sec-WebSocket-Version': _v, ...noVersion } = GOOD;
  const { 'Sec-WebSocket-Key': _k, ...noKey } = GOOD;
  const lines = (extra: string[]) => [...Object.entries(GOOD).map(([k, v]) => `${k}: ${v}`), ...extra];
  const cases: [string, number, Buffer, string?][] = [
    ['a request that is no upgrade (no Upgrade header)', 426, request(noUpgrade), 'Upgrade: websocket'],
    ['Connection without the upgrade token', 426, request({ ...GOOD, Connection: 'keep-alive' })],
    ['Connection with upgrade among other tokens (accepted)', 101, request({ ...GOOD, Connection: 'keep-alive, Upgrade' })],
    ['Upgrade other than websocket', 400, request({ ...GOOD, Upgrade: 'h2c' })],
    ['Upgrade in another case (accepted)', 101, request({ ...GOOD, Upgrade: 'WebSocket' })],
    ['a missing Sec-WebSocket-Key', 400, request(noKey)],
    ['a key of 15 bytes', 400, request({ ...GOOD, 'Sec-WebSocket-Key': randomBytes(15).toString('base64') })],
    ['a key of 17 bytes', 400, request({ ...GOOD, 'Sec-WebSocket-Key': randomBytes(17).toString('base64') })],
    ['a key with a character outside base64', 400, request({ ...GOOD, 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZ!==' })],
    ['two keys', 400, request(lines([`Sec-WebSocket-Key: ${RFC_KEY}`]))],
    ['version 8', 426, request({ ...GOOD, 'Sec-WebSocket-Version': '8' }), 'Sec-WebSocket-Version: 13'],
    ['no version', 426, request(noVersion), 'Sec-WebSocket-Version: 13'],
    ['a method other than GET', 405, request(GOOD, 'POST /chat HTTP/1.1')],
    ['a lowercase method', 405, request(GOOD, 'get /chat HTTP/1.1')],
    ['HTTP/1.0', 400, request(GOOD, 'GET /chat HTTP/1.0')],
    ['a malformed request line', 400, request(GOOD, 'GET  /chat HTTP/1.1')],
    ['no Host', 400, request(noHost)],
    ['two Hosts', 400, request(lines(['Host: b']))],
    ['a folded header line (obs-fold)', 400, request(lines([' folded']))],
    ['space before a colon', 400, request(lines(['X-A : 1']))],
    ['a NUL in a value', 400, request(lines(['X-A: a\0b']))],
    ['a bare LF in a value', 400, request(lines(['X-A: a\nb']))],
    ['a request body', 400, request({ ...GOOD, 'Content-Length': '5' })],
    ['Content-Length 0 (accepted)', 101, request({ ...GOOD, 'Content-Length': '0' })],
    ['Transfer-Encoding', 400, request({ ...GOOD, 'Transfer-Encoding': 'chunked' })],
    ['a repeated subprotocol', 400, request({ ...GOOD, 'Sec-WebSocket-Protocol': 'a, a' })],
    ['a subprotocol that is no token', 400, request({ ...GOOD, 'Sec-WebSocket-Protocol': 'a b' })],
    // kWsMaxProtocols: each name is compared with those before it, so their count is capped.
    ['64 subprotocols (accepted)', 101, request({ ...GOOD, 'Sec-WebSocket-Protocol': Array.from({ length: 64 }, (_, i) => `p${i}`).join(',') })],
    ['65 subprotocols', 400, request({ ...GOOD, 'Sec-WebSocket-Protocol': Array.from({ length: 65 }, (_, i) => `p${i}`).join(',') })],
    ['headers in any case, OWS around values (accepted)', 101, request(['host:x', 'UPGRADE:   websocket  ', 'connection:upgrade', `sec-websocket-key:${RFC_KEY}`, 'SEC-WEBSOCKET-VERSION: 13'])],
  ];
  it.each(cases)('answers %s with %i', (_name, status, req, header) => {
    const r = handshakeIn(req, [req.length]);
    expect(r.status).toBe(status);
    expect(r.result).toBe(status === 101 ? HANDSHAKE_ACCEPTED : HANDSHAKE_REJECTED);
    const text = r.response.toString('latin1');
    expect(text.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
    if (status !== 101) {
      expect(text).toContain('Connection: close\r\n');
      expect(text.endsWith(`\r\n\r\n${r.reason}`)).toBe(true);
      expect(r.reason.length).toBeGreaterThan(0);
    }
    if (header) expect(text).toContain(`${header}\r\n`);
    const bytewise = handshakeIn(req, Array(req.length).fill(1));
    expect(bytewise.response.toString('latin1')).toBe(text);
  });

  it(`refuses a request over MAX_HANDSHAKE_BYTES with 431 and buffers no more than that`, () => {
    const limit = wsCodec!.constants.MAX_HANDSHAKE_BYTES;
    expect(limit).toBe(16384);
    const big = request(lines([`X-Pad: ${'a'.repeat(limit)}`]));
    expect(handshakeIn(big, [big.length]).status).toBe(431);
    const h = new wsCodec!.WsHandshake();
    let r = h.feed(Buffer.alloc(0));
    for (let at = 0; at < big.length && r.result === HANDSHAKE_NEED_MORE; at += 1000) r = h.feed(big.subarray(at, at + 1000));
    expect(r.status).toBe(431);
    expect(r.bufferCapacity).toBeLessThanOrEqual(2 * limit);
    // Just under the limit is fine.
    const pad = limit - request(lines(['X-Pad: '])).length;
    const fits = request(lines([`X-Pad: ${'a'.repeat(pad)}`]));
    expect(fits.length).toBe(limit);
    expect(handshakeIn(fits, [fits.length]).status).toBe(101);
    expect(handshakeIn(fits, [100, limit]).status).toBe(101);
  });

  it('lets a real ws client connect, with the first offered subprotocol echoed', async () => {
    const server = new CodecServer();
    const ws = openClient(await server.listen(), ['joint', 'other']);
    await once(ws, 'open');
    expect(ws.protocol).toBe('joint');
    // ws's request, fed one byte at a time, gets the same answer.
    expect(handshakeIn(server.request, Array(server.request.length).fill(1)).response.equals(server.response)).toBe(true);
  });

  it('refuses a ws client that speaks version 8 with 426', async () => {
    const server = new CodecServer();
    const ws = new WebSocket(`ws://127.0.0.1:${await server.listen()}/`, { protocolVersion: 8 });
    cleanups.push(() => ws.terminate());
    const [err] = (await once(ws, 'error')) as [Error];
    expect(err.message).toContain('426');
  });
});

describe.skipIf(!wsCodec)(`the native WebSocket frame decoder and encoder with a real ws client${SKIP_NOTE}`, () => {
  async function session(options: WsDecoderOptionsJs) {
    const server = new CodecServer(options);
    const ws = openClient(await server.listen());
    await once(ws, 'open');
    return { server, ws };
  }

  async function sendMix(ws: WebSocket): Promise<void> {
    const sent = (data: Buffer | string, opts: { fin?: boolean; binary?: boolean } = {}) =>
      new Promise<void>((resolve, reject) => ws.send(data, opts, (err) => (err ? reject(err) : resolve())));
    await sent(Buffer.from([1, 2, 3]));
    await sent('héllo €');
    await sent(Buffer.from('ab'), { fin: false });
    ws.ping(Buffer.from('pp'));
    await sent(Buffer.from('cd'), { fin: true });
    ws.pong(Buffer.from('qq'));
    await sent(Buffer.alloc(0));
    await sent(Buffer.alloc(70000, 7).subarray(0, 65536));
  }

  it('stream delivery: binary and text bytes in order, control payloads out of the stream (D6), masking undone', async () => {
    const { server, ws } = await session({});
    await sendMix(ws);
    const expected = Buffer.concat([Buffer.from([1, 2, 3]), Buffer.from('héllo €'), Buffer.from('abcd'), Buffer.alloc(65536, 7)]);
    const data = () => Buffer.concat(server.events.filter((e) => e.kind === WsKind.Data).map((e) => e.data));
    await server.until(() => data().length >= expected.length);
    expect(data().equals(expected)).toBe(true);
    expect(server.events.filter((e) => e.kind === WsKind.Data).every((e) => e.data.length > 0)).toBe(true);
    const controls = server.events.filter((e) => e.kind !== WsKind.Data).map((e) => [e.kind, e.data.toString()]);
    expect(controls).toEqual([
      [WsKind.Ping, 'pp'],
      [WsKind.Pong, 'qq'],
    ]);
    // The ping arrived between the two fragments of 'abcd'.
    const order = server.events.map((e) => (e.kind === WsKind.Data ? e.data.toString('latin1').slice(0, 2) : `#${e.kind}`));
    expect(order.indexOf('#2')).toBeGreaterThan(order.indexOf('ab'));
    expect(order.indexOf('#2')).toBeLessThan(order.indexOf('cd'));
    expect(server.events.find((e) => e.data.toString() === 'héllo €')!.flags & WS_FLAG_TEXT).toBe(WS_FLAG_TEXT);
  });

  it('message delivery: whole messages, a fragmented one reassembled, empty messages kept', async () => {
    const { server, ws } = await session({ message: true });
    await sendMix(ws);
    await server.until(() => server.events.filter((e) => e.kind === WsKind.Data).length >= 5);
    const messages = server.events.map((e) => [e.kind, e.kind === WsKind.Data ? e.data.length : e.data.toString(), e.flags & WS_FLAG_TEXT]);
    expect(messages).toEqual([
      [WsKind.Data, 3, 0],
      [WsKind.Data, Buffer.byteLength('héllo €'), WS_FLAG_TEXT],
      [WsKind.Ping, 'pp', 0],
      [WsKind.Data, 4, 0],
      [WsKind.Pong, 'qq', 0],
      [WsKind.Data, 0, 0],
      [WsKind.Data, 65536, 0],
    ]);
    expect(server.events[3]!.data.toString()).toBe('abcd');
  });

  it('the encoder: binary messages of every header size, a pong and a close reach the ws client intact', async () => {
    const { server, ws } = await session({});
    const got: Buffer[] = [];
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      expect(isBinary).toBe(true);
      got.push(data);
    });
    const sizes = [0, 1, 125, 126, 65535, 65536, 70000];
    const payloads = sizes.map((n) => randomBytes(n));
    for (const p of payloads) {
      const header = wsCodec!.encodeHeader(2, p.length);
      expect(header.length).toBe(p.length <= 125 ? 2 : p.length <= 65535 ? 4 : 10);
      server.write(Buffer.concat([header, p]));
    }
    await server.until(() => got.length === sizes.length);
    expect(got.map((b) => b.toString('hex'))).toEqual(payloads.map((b) => b.toString('hex')));
    // A ping answered with encodePong of its payload.
    ws.ping(Buffer.from('are you there'));
    await server.until(() => server.events.some((e) => e.kind === WsKind.Ping));
    const ping = server.events.find((e) => e.kind === WsKind.Ping)!;
    server.write(wsCodec!.encodePong(ping.data));
    const [pong] = (await once(ws, 'pong')) as [Buffer];
    expect(pong.toString()).toBe('are you there');
    // The client closes with a code and a reason; the codec reports both and echoes the code.
    ws.close(4000, 'bye');
    await server.until(() => server.events.some((e) => e.kind === WsKind.Close));
    const close = server.events.find((e) => e.kind === WsKind.Close)!;
    expect([close.closeCode, close.data.toString()]).toEqual([4000, 'bye']);
    server.write(wsCodec!.encodeClose(close.closeCode));
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(4000);
  });

  it('a message over the limit: close 1009, decided on the frame header, and the ws client sees 1009', async () => {
    const { server, ws } = await session({});
    ws.send(Buffer.alloc(65537));
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(1009);
    expect(server.closeCode).toBe(1009);
    // The header alone decides it: no payload byte is needed.
    const header = clientFrame({ opcode: 2, payload: Buffer.alloc(65537) }).subarray(0, 2 + 8 + 4);
    const r = new wsCodec!.WsDecoder().feed(header);
    expect([r.closeCode, r.errorText]).toEqual([1009, 'message too large']);
  });
});

describe.skipIf(!wsCodec)(`the native WebSocket frame decoder: rules and errors${SKIP_NOTE}`, () => {
  const f = clientFrame;
  const bin = (s: string | number[], more: Partial<Parameters<typeof clientFrame>[0]> = {}) =>
    f({ opcode: 2, payload: typeof s === 'string' ? Buffer.from(s) : Buffer.from(s), ...more });

  const errors: [string, number, Buffer, WsDecoderOptionsJs?][] = [
    ['an unmasked client frame', 1002, bin('x', { masked: false })],
    ['RSV1 set', 1002, bin('x', { rsv: 0x40 })],
    ['RSV2 set', 1002, bin('x', { rsv: 0x20 })],
    ['RSV3 set', 1002, bin('x', { rsv: 0x10 })],
    ['reserved data opcode 3', 1002, f({ opcode: 3, payload: Buffer.from('x') })],
    ['reserved control opcode 0xB', 1002, f({ opcode: 0xb, payload: Buffer.alloc(0) })],
    ['a continuation with no message begun', 1002, f({ opcode: 0, payload: Buffer.from('x') })],
    ['a new message inside a fragmented one', 1002, Buffer.concat([bin('a', { fin: false }), bin('b')])],
    ['a fragmented ping', 1002, f({ opcode: 9, payload: Buffer.alloc(1), fin: false })],
    ['a ping of 126 bytes', 1002, f({ opcode: 9, payload: Buffer.alloc(126) })],
    ['a close of 1 byte', 1002, f({ opcode: 8, payload: Buffer.alloc(1) })],
    ['close code 999', 1002, f({ opcode: 8, payload: closePayload(999) })],
    ['close code 1004', 1002, f({ opcode: 8, payload: closePayload(1004) })],
    ['close code 1005', 1002, f({ opcode: 8, payload: closePayload(1005) })],
    ['close code 1006', 1002, f({ opcode: 8, payload: closePayload(1006) })],
    ['close code 1015', 1002, f({ opcode: 8, payload: closePayload(1015) })],
    ['close code 2999', 1002, f({ opcode: 8, payload: closePayload(2999) })],
    ['close code 5000', 1002, f({ opcode: 8, payload: closePayload(5000) })],
    ['a close reason that is not UTF-8', 1007, f({ opcode: 8, payload: Buffer.concat([closePayload(1000), Buffer.from([0xc3])]) })],
    ['a 64-bit length with its top bit set', 1002, bin('', { announcedLength: 1n << 63n, lengthBits: 64 })],
    ['a 64-bit length over the limit', 1009, bin('', { announcedLength: 1n << 40n, lengthBits: 64 })],
    ['one byte over the message limit', 1009, bin(Array(65537).fill(0))],
    ['fragments adding up past the limit', 1009, Buffer.concat([bin(Array(40000).fill(0), { fin: false }), f({ opcode: 0, payload: Buffer.alloc(30000) })])],
    ['a message past maxMessageBytes: 10', 1009, bin(Array(11).fill(0)), { maxMessageBytes: 10 }],
    ['more frames than maxFragments', 1008, Buffer.concat([bin('a', { fin: false }), f({ opcode: 0, payload: Buffer.alloc(0), fin: false }), f({ opcode: 0, payload: Buffer.from('b') })]), { maxFragments: 2 }],
    ['text that is not UTF-8 (overlong)', 1007, f({ opcode: 1, payload: Buffer.from([0xc0, 0x80]) })],
    ['text with a surrogate', 1007, f({ opcode: 1, payload: Buffer.from([0xed, 0xa0, 0x80]) })],
    ['text past U+10FFFF', 1007, f({ opcode: 1, payload: Buffer.from([0xf4, 0x90, 0x80, 0x80]) })],
    ['text ending inside a character', 1007, f({ opcode: 1, payload: Buffer.from([0x61, 0xe2, 0x82]) })],
    ['fragmented text ending inside a character', 1007, Buffer.concat([f({ opcode: 1, payload: Buffer.from([0xe2]), fin: false }), f({ opcode: 0, payload: Buffer.alloc(0) })])],
  ];
  it.each(errors)('closes on %s with %i, whole and byte by byte (split for long inputs), in both deliveries', (_name, code, bytes, options = {}) => {
    for (const message of [false, true]) {
      const o = { ...options, message };
      const whole = decodeWhole(bytes, o);
      expect(whole.closeCode).toBe(code);
      expect(whole.errorText.length).toBeGreaterThan(0);
      const bytewise = feedAll(new wsCodec!.WsDecoder(o), splitEvery(Uint8Array.from(bytes), bytes.length <= 2048 ? 1 : 997));
      expect(bytewise.closeCode).toBe(code);
      const model = modelDecode(bytes, { message, maxMessageBytes: 65536, maxFragments: 0, validateUtf8: true, ...options });
      expect(model.errorClose).toBe(code);
      // After an error the decoder stays failed.
      const d = new wsCodec!.WsDecoder(o);
      d.feed(Uint8Array.from(bytes));
      const again = d.feed(bin('fine'));
      expect([again.events.length, again.consumed, again.closeCode]).toEqual([0, 0, code]);
    }
  });

  it('accepts what the rules allow: valid close codes, UTF-8 split across fragments, text unchecked on request', () => {
    for (const code of [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999]) {
      const d = decodeWhole(f({ opcode: 8, payload: closePayload(code, 'ok') }));
      expect([d.closeCode, d.closed, d.events[0]!.closeCode, d.events[0]!.data.toString()]).toEqual([0, true, code, 'ok']);
    }
    const empty = decodeWhole(f({ opcode: 8, payload: Buffer.alloc(0) }));
    expect([empty.closed, empty.events[0]!.closeCode]).toEqual([true, 1005]);
    // The answer to a close without a code is a close without a code.
    expect(wsCodec!.encodeClose(1005).toString('hex')).toBe('8800');
    const euro = Buffer.from('€');
    const split = Buffer.concat([f({ opcode: 1, payload: euro.subarray(0, 1), fin: false }), f({ opcode: 0, payload: euro.subarray(1) })]);
    for (const message of [false, true]) {
      const d = decodeWhole(split, { message });
      expect([d.closeCode, Buffer.concat(d.events.map((e) => e.data)).toString()]).toEqual([0, '€']);
      const raw = decodeWhole(f({ opcode: 1, payload: Buffer.from([0xff, 0xfe]) }), { message, validateUtf8: false });
      expect([raw.closeCode, raw.events[0]!.data.toString('hex')]).toEqual([0, 'fffe']);
    }
  });

  it('decodes every length encoding, including non-minimal ones', () => {
    for (const [n, bits] of [[0, 7], [125, 7], [126, 16], [5, 16], [65535, 16], [65536, 64], [3, 64]] as const) {
      const payload = randomBytes(n);
      const d = decodeWhole(f({ opcode: 2, payload, lengthBits: bits }), { message: true });
      expect([d.closeCode, d.events[0]!.data.equals(payload)]).toEqual([0, true]);
    }
  });

  it('message delivery hands out a single-frame message in the input as a view, and a split one from the carry', () => {
    const frame = bin('hello');
    const whole = new wsCodec!.WsDecoder({ message: true }).feed(Uint8Array.from(frame));
    expect(whole.events.map((e) => [e.flags, e.offset, e.data.toString()])).toEqual([[0, 6, 'hello']]);
    expect(whole.carryCapacity).toBe(0);
    const d = new wsCodec!.WsDecoder({ message: true });
    expect(d.feed(Uint8Array.from(frame.subarray(0, 8))).events).toEqual([]);
    const rest = d.feed(Uint8Array.from(frame.subarray(8)));
    expect(rest.events.map((e) => [e.flags & WS_FLAG_IN_CARRY, e.data.toString()])).toEqual([[WS_FLAG_IN_CARRY, 'hello']]);
    // Stream delivery never copies: every piece is a view, even of a frame split in three.
    const s = new wsCodec!.WsDecoder();
    const pieces = [frame.subarray(0, 7), frame.subarray(7, 9), frame.subarray(9)].map((p) => s.feed(Uint8Array.from(p)));
    expect(pieces.flatMap((p) => p.events.map((e) => [e.flags, e.data.toString()]))).toEqual([[0, 'h'], [0, 'el'], [0, 'lo']]);
    expect(pieces.every((p) => p.carryCapacity === 0)).toBe(true);
  });

  it('keeps partial messages within the message limit', () => {
    const max = 1000;
    const d = new wsCodec!.WsDecoder({ message: true, maxMessageBytes: max });
    const frames = Buffer.concat([bin(Array(600).fill(1), { fin: false }), f({ opcode: 0, payload: Buffer.alloc(400, 2) })]);
    const r = feedAll(d, splitEvery(frames, 7));
    expect([r.closeCode, r.events.length, r.events[0]!.data.length]).toEqual([0, 1, 1000]);
    expect(r.maxCarry).toBeLessThanOrEqual(2 * max);
  });

  it('stops at maxEvents and after a carry event, and the rest fed again gives everything', () => {
    const frames = Buffer.concat([bin('a'), bin('b'), f({ opcode: 9, payload: Buffer.from('p') }), bin('c', { fin: false }), f({ opcode: 0, payload: Buffer.from('d') })]);
    for (const message of [false, true]) {
      const d = new wsCodec!.WsDecoder({ message });
      const first = d.feed(Uint8Array.from(frames), 1);
      expect([first.events.length, first.consumed]).toEqual([1, 7]);
      const all = feedAll(new wsCodec!.WsDecoder({ message }), [Uint8Array.from(frames)], 1);
      expect(summary(all)).toEqual(summary(decodeWhole(frames, { message })));
    }
  });

  it('decodes nothing after a close frame', () => {
    const bytes = Buffer.concat([bin('a'), f({ opcode: 8, payload: closePayload(1000) }), bin('after')]);
    const d = new wsCodec!.WsDecoder();
    const r = d.feed(Uint8Array.from(bytes));
    expect([r.closed, r.consumed, r.events.map((e) => e.kind)]).toEqual([true, 7 + 8, [WsKind.Data, WsKind.Close]]);
    const again = d.feed(bin('more'));
    expect([again.events.length, again.consumed, again.closed]).toEqual([0, 0, true]);
  });

  it('gives the model\'s result whole, split at every byte boundary and byte by byte, in both deliveries', () => {
    const stream = Buffer.concat([
      bin('first'),
      f({ opcode: 1, payload: Buffer.from('tëxt'), fin: false, mask: [0xff, 0, 0x80, 7] }),
      f({ opcode: 10, payload: Buffer.from('pong') }),
      f({ opcode: 0, payload: Buffer.from(' ✓'), fin: false }),
      f({ opcode: 9, payload: Buffer.alloc(125, 9) }),
      f({ opcode: 0, payload: Buffer.from('!'), lengthBits: 64 }),
      bin(Array(300).fill(3), { lengthBits: 16 }),
      bin(''),
      f({ opcode: 8, payload: closePayload(1001, 'going') }),
    ]);
    for (const message of [false, true]) {
      const options = { message, maxMessageBytes: 65536, maxFragments: 0, validateUtf8: true };
      const model = modelDecode(stream, options);
      const expected = {
        data: Buffer.concat(model.items.filter((i) => i.kind === WsKind.Data).map((i) => i.data)).toString('hex'),
        controls: model.items.filter((i) => i.kind !== WsKind.Data).map((i) => `${i.kind}:${i.closeCode}:${Buffer.from(i.data).toString('hex')}`),
        closeCode: 0,
      };
      expect(model.closed).toBe(true);
      expect(summary(decodeWhole(stream, options))).toEqual(expected);
      for (let cut = 1; cut < stream.length; cut++) {
        const d = feedAll(new wsCodec!.WsDecoder(options), [Uint8Array.from(stream.subarray(0, cut)), Uint8Array.from(stream.subarray(cut))]);
        expect(summary(d)).toEqual(expected);
      }
      const bytewise = feedAll(new wsCodec!.WsDecoder(options), splitEvery(Uint8Array.from(stream), 1));
      expect(summary(bytewise)).toEqual(expected);
      if (message) expect(bytewise.events.filter((e) => e.kind === WsKind.Data).map((e) => e.data.toString())).toEqual(['first', 'tëxt ✓!', '\x03'.repeat(300), '']);
    }
  });

  it('the encoder: header sizes, pong and close bounds', () => {
    expect(wsCodec!.encodeHeader(2, 125).toString('hex')).toBe('827d');
    expect(wsCodec!.encodeHeader(2, 126).toString('hex')).toBe('827e007e');
    expect(wsCodec!.encodeHeader(2, 65535).toString('hex')).toBe('827effff');
    expect(wsCodec!.encodeHeader(2, 65536).toString('hex')).toBe('827f0000000000010000');
    expect(wsCodec!.encodeHeader(2, 2 ** 32).toString('hex')).toBe('827f0000000100000000');
    expect(wsCodec!.encodePong(Buffer.from('ab')).toString('hex')).toBe('8a026162');
    expect(wsCodec!.encodePong(Buffer.alloc(125)).length).toBe(127);
    expect(wsCodec!.encodePong(Buffer.alloc(126)).length).toBe(0);
    expect(wsCodec!.encodeClose(1009).toString('hex')).toBe('880203f1');
    expect(wsCodec!.encodeClose(1000, Buffer.alloc(123)).length).toBe(127);
    expect(wsCodec!.encodeClose(1000, Buffer.alloc(124)).length).toBe(0);
  });
});
