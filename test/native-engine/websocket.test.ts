/**
 * WebSocket on the native relay engine's port (issue 19, joint.md §9) with the `ws` package as
 * the client: the handshake, ACCEPT as websocket, binary and text messages feeding one joint
 * stream across arbitrary message boundaries, every relay unit as one binary message, ping/pong,
 * close, 1009 past maxWebSocketPayloadBytes, a control-frame flood, a bad request, and raw TCP
 * peers beside WebSocket ones. Skips (loudly) without the native engine or without the codec.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { relayEngineBinding } from '../../src/core/index.js';
import { prng } from '../helpers/prng.js';
import { cleanup, Client, command, EventType, frame, Harness, SKIP_REASON } from './harness.js';

const WS_SKIP = SKIP_REASON ?? (relayEngineBinding?.webSocket === true ? null : 'the addon was built without the WebSocket codec (native/ws-frame.h)');
if (SKIP_REASON === null && WS_SKIP !== null) console.warn(`SKIPPED test/native-engine/websocket: ${WS_SKIP}`);

const sockets = new Set<WebSocket>();
afterEach(() => {
  for (const s of sockets) s.terminate();
  sockets.clear();
  cleanup();
});

/** A ws client collecting every message it gets. */
class WsClient {
  readonly messages: Buffer[] = [];
  closeCode = 0;
  closed = false;
  constructor(readonly ws: WebSocket) {
    sockets.add(ws);
    ws.on('message', (data: Buffer) => this.messages.push(Buffer.from(data)));
    ws.on('close', (code: number) => {
      this.closeCode = code;
      this.closed = true;
    });
    ws.on('error', () => {});
  }
  static open(port: number): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      const c = new WsClient(ws);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }
  async nextMessage(timeoutMs = 3000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length === 0) {
      if (Date.now() > deadline) throw new Error('timeout waiting for a message');
      if (this.closed) throw new Error(`closed (${this.closeCode}) before a message`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.messages.shift()!;
  }
  async waitClosed(timeoutMs = 3000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('timeout waiting for close');
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.closeCode;
  }
}

/** A WebSocket owner of joint 0 of `id`, ACCEPTed as websocket and answered as the control plane would. */
async function wsOwner(h: Harness, id: string): Promise<{ c: WsClient; conn: number }> {
  const c = await WsClient.open(h.port);
  const accept = await h.next(EventType.Accept);
  expect(accept.a).toBe(1);
  h.engine.admit(accept.conn);
  c.ws.send(command(0, 1, Buffer.from(id)));
  await h.next(EventType.Command, accept.conn);
  h.engine.send(accept.conn, Uint8Array.of(0, 3, 1, 0, 0));
  h.engine.own(accept.conn, 0, true);
  h.engine.resume(accept.conn);
  expect((await c.nextMessage()).toString('hex')).toBe('0003010000');
  return { c, conn: accept.conn };
}

describe.skipIf(WS_SKIP !== null)(`native relay engine: WebSocket${WS_SKIP ? ` (skipped: ${WS_SKIP})` : ''}`, () => {
  it('forwards between a WebSocket owner and a raw TCP user, one binary message per unit', async () => {
    const h = Harness.start();
    const owner = await wsOwner(h, 'w');
    const user = await h.user(owner.conn, 'w', 0, 0, 0);
    user.client.write(Buffer.concat([frame(Buffer.from([0, 1, 2])), frame(Buffer.from([0, 3]))]));
    expect((await owner.c.nextMessage()).toString('hex')).toBe('04800001' + '02');
    expect((await owner.c.nextMessage()).toString('hex')).toBe('03800003');
    // One joint frame split over three messages, one of them text: a single stream.
    const f = frame(Buffer.from([0x80, 0, 0x41, 0x42, 0x43]));
    owner.c.ws.send(f.subarray(0, 2));
    owner.c.ws.send(f.subarray(2, 4).toString('latin1'));
    owner.c.ws.send(f.subarray(4));
    // Each message's piece is forwarded as it arrives (joint.md §8 re-fragmentation).
    const got = await user.client.readData(3);
    expect(got.every((u) => u.a === 0)).toBe(true);
    expect(Buffer.concat(got.map((u) => u.data)).toString()).toBe('ABC');
  });

  it('answers a ping with a pong and a close with a close, then reports peer_closed', async () => {
    const h = Harness.start();
    const owner = await wsOwner(h, 'p');
    const pong = new Promise<Buffer>((resolve) => owner.c.ws.once('pong', (d: Buffer) => resolve(d)));
    owner.c.ws.ping(Buffer.from('hi'));
    expect((await pong).toString()).toBe('hi');
    owner.c.ws.close(1000);
    expect(await owner.c.waitClosed()).toBe(1000);
    expect((await h.next(EventType.Closed, owner.conn)).a).toBe(0);
  });

  it('sends no keepalive to a WebSocket peer that was sent no unit (a 101 or a pong does not arm it)', async () => {
    const h = Harness.start({ keepaliveMs: 100 });
    const c = await WsClient.open(h.port);
    const accept = await h.next(EventType.Accept);
    h.engine.admit(accept.conn);
    c.ws.ping();
    await new Promise((r) => setTimeout(r, 400));
    expect(c.messages.length).toBe(0);
    // A unit arms it: keepalives follow.
    h.engine.send(accept.conn, Uint8Array.of(0, 3, 1, 0, 0));
    expect((await c.nextMessage()).toString('hex')).toBe('0003010000');
    expect((await c.nextMessage(1000)).length).toBeGreaterThan(0);
    c.ws.terminate();
  });

  it('close() from JavaScript sends what is queued, then a close 1000', async () => {
    const h = Harness.start();
    const owner = await wsOwner(h, 'c');
    h.engine.send(owner.conn, Uint8Array.of(0, 1, 5));
    h.engine.close(owner.conn, 7, true);
    expect((await owner.c.nextMessage()).toString('hex')).toBe('000105');
    expect(await owner.c.waitClosed()).toBe(1000);
  });

  it('close() from JavaScript without graceful ends at once: no close frame (1006), as the Node engine destroy()', async () => {
    const h = Harness.start();
    const owner = await wsOwner(h, 'c2');
    h.engine.close(owner.conn, 3);
    expect(await owner.c.waitClosed()).toBe(1006);
    expect(h.stats().rate_limit).toBe(1);
  });

  it('closes with 1009 a message past maxWebSocketPayloadBytes, as protocol_error', async () => {
    const h = Harness.start({ maxWebSocketPayloadBytes: 1024 });
    const owner = await wsOwner(h, 'big');
    owner.c.ws.send(Buffer.alloc(2000, 2));
    expect(await owner.c.waitClosed()).toBe(1009);
    const e = await h.next(EventType.Closed, owner.conn);
    expect(e.a).toBe(2);
    expect(e.bytes.toString()).toMatch(/1009/);
  });

  it('closes a control-frame flood with 1008', async () => {
    const h = Harness.start();
    const owner = await wsOwner(h, 'fl');
    for (let i = 0; i < 150; i++) owner.c.ws.ping();
    expect(await owner.c.waitClosed()).toBe(1008);
    expect((await h.next(EventType.Closed, owner.conn)).a).toBe(2);
  });

  it('refuses a bad upgrade request with an HTTP error, and times out a half handshake', async () => {
    const h = Harness.start({ loginTimeoutMs: 300 });
    const bad = await Client.connect(h.port);
    bad.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await bad.waitClosed();
    expect(bad.takeAll().toString('latin1')).toMatch(/^HTTP\/1\.1 [45]\d\d/);
    const slow = await Client.connect(h.port);
    slow.write(Buffer.from('GET / HTTP/1.1\r\n'));
    await h.statsUntil('an upgrade pending', (s) => s.pendingUpgrades === 1);
    await slow.waitClosed();
    const s = await h.statsUntil('no upgrade pending', (s) => s.pendingUpgrades === 0);
    expect(s.webSocketRefused).toBe(1);
    expect(s.loginTimeouts).toBe(1);
    await h.statsUntil('every event delivered', () => h.events.length === 4);
    expect(h.events.map((e) => [e.type, e.a])).toEqual([
      [EventType.Connect, 0],
      [EventType.Closed, 2],
      [EventType.Connect, 0],
      [EventType.Closed, 8],
    ]);
  });

  it('survives random upgrade requests and random frames after a good handshake; a good pair is unaffected', async () => {
    const rand = prng(1919);
    const h = Harness.start({ loginTimeoutMs: 500 });
    const owner = await h.owner('good');
    const user = await h.user(owner.conn, 'good', 0, 0, 0);
    const byte = () => Math.floor(rand() * 256);
    const noise = (n: number) => Buffer.from(Array.from({ length: n }, byte));
    const clients: Client[] = [];
    for (let i = 0; i < 10; i++) {
      const c = await Client.connect(h.port);
      clients.push(c);
      if (i < 5) {
        // A request line and noise: refused, timed out, or answered with an HTTP error.
        c.write(Buffer.concat([Buffer.from('GET /'), noise(50 + Math.floor(rand() * 500))]));
      } else {
        const key = Buffer.from(noise(16)).toString('base64');
        c.write(Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
        const accept = await h.next(EventType.Accept);
        h.engine.admit(accept.conn);
        // Masked frames with random opcodes, lengths and flags, then plain noise.
        for (let k = 0; k < 20; k++) {
          const payload = noise(Math.floor(rand() * 40));
          const mask = noise(4);
          const b0 = rand() < 0.7 ? 0x82 : byte();
          const b1 = (rand() < 0.9 ? 0x80 : 0) | payload.length;
          for (let j = 0; j < payload.length; j++) payload[j]! ^= mask[j % 4]!;
          c.write(Buffer.concat([Buffer.of(b0, b1), mask, payload]));
        }
        c.write(noise(100));
      }
    }
    // The control plane's part: resume any command the noise made.
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < h.events.length; i++) {
        const e = h.events[i]!;
        if (e.conn === owner.conn || e.conn === user.conn) continue;
        h.events.splice(i--, 1);
        if (e.type === EventType.Command) h.engine.resume(e.conn);
      }
      user.client.write(frame(Buffer.of(0, round)));
      await new Promise((r) => setTimeout(r, 10));
    }
    const got = await owner.client.readData(40);
    expect(Buffer.concat(got.map((u) => u.data))).toEqual(Buffer.from(Array.from({ length: 40 }, (_, i) => i)));
    await Promise.all(clients.map((c) => c.waitClosed(5000)));
    const s = await h.statsUntil('no pending', (s) => s.pendingConnections === 0);
    expect(s.connections).toBe(2);
  });

  it('sends the keepalive and control messages from send() as one binary message each', async () => {
    const h = Harness.start({ keepaliveMs: 100 });
    const owner = await wsOwner(h, 'k');
    expect((await owner.c.nextMessage(2000)).toString('hex')).toBe('000400ff0000');
    h.engine.send(owner.conn, Uint8Array.of(0, 1, 7));
    expect((await owner.c.nextMessage()).toString('hex')).toBe('000107');
  });
});
