/**
 * The native relay engine under hostile or slow peers (issue 19): a protocol error closes only
 * that peer, a reader that stops is dropped as slow_reader, a flooded owner pauses its senders
 * instead of growing memory, inbound budgets, login / idle timeouts, keepalive, and stop() with
 * connections open. Small limits keep each case fast. Skips (loudly) without the native engine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RELAY_ENGINE_REASONS } from '../../src/core/index.js';
import { cleanup, Client, command, EventType, frame, Harness, SKIP_REASON } from './harness.js';

afterEach(cleanup);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The owner writes to a user that does not read until the engine holds a backlog for it (up to 512 KiB). */
async function fillBacklog(h: Harness, owner: Client, user: Client): Promise<void> {
  user.socket.pause();
  const chunk = frame(Buffer.concat([Buffer.of(0x80, 0), Buffer.alloc(32765, 9)]));
  for (let round = 0; round < 400 && h.stats().backlogBytes < 512 * 1024; round++) {
    for (let i = 0; i < 32; i++) owner.write(chunk);
    await sleep(5);
  }
  expect(h.stats().backlogBytes).toBeGreaterThan(0);
}

describe.skipIf(SKIP_REASON !== null)(`native relay engine: limits${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  it('a protocol error closes that peer with protocol_error and disturbs nobody else', async () => {
    const h = Harness.start();
    const owner = await h.owner('e');
    const user = await h.user(owner.conn, 'e', 0, 0, 0);
    const bad = await h.accept(Buffer.of(0x00, 0x09));
    const closed = await h.next(EventType.Closed, bad.conn);
    expect(closed.a).toBe(2);
    expect(closed.bytes.toString()).toBe('GW_ERR_JOINT_UNKNOWN_COMMAND');
    await bad.client.waitClosed();
    user.client.write(frame(Buffer.from([0, 0x55])));
    expect((await owner.client.read(4)).toString('hex')).toBe('03800055');
    // A broken stream after good data: the good part is forwarded, then the peer goes.
    user.client.write(Buffer.concat([frame(Buffer.from([0, 0x66])), Buffer.of(0x80, 0x01)]));
    expect((await owner.client.read(4)).toString('hex')).toBe('03800066');
    expect((await h.next(EventType.Closed, user.conn)).a).toBe(2);
    expect(owner.client.closed).toBe(false);
    expect(h.stats().protocol_error).toBe(2);
  });

  it('drops a user that stops reading owner traffic as slow_reader, and the owner stays', async () => {
    const h = Harness.start({ maxOutboundBytes: 256 * 1024, outboundHighWaterBytes: 64 * 1024, outboundLowWaterBytes: 16 * 1024 });
    const owner = await h.owner('s');
    const user = await h.user(owner.conn, 's', 0, 0, 0);
    user.client.socket.pause();
    const chunk = frame(Buffer.concat([Buffer.of(0x80, 0), Buffer.alloc(32765, 7)]));
    // Loopback kernel buffers take several MiB before the engine's backlog grows.
    let sent = 0;
    const closed = h.next(EventType.Closed, user.conn, 15_000);
    let done = false;
    void closed.then(() => (done = true), () => (done = true));
    while (!done && sent < 256 * 1024 * 1024) {
      for (let i = 0; i < 32; i++) owner.client.write(chunk);
      sent += 32 * chunk.length;
      await sleep(2);
    }
    const e = await closed;
    expect(e.a).toBe(4);
    expect(e.bytes.toString()).toMatch(/bytes unsent/);
    expect(owner.client.closed).toBe(false);
    const s = await h.statsUntil('backlog gone', (s) => s.backlogBytes === 0);
    expect(s.slow_reader).toBe(1);
  });

  it('a flooded owner pauses its senders instead of growing memory, and gets every byte once it reads', async () => {
    const high = 64 * 1024;
    const max = 1024 * 1024;
    const h = Harness.start({ maxOutboundBytes: max, outboundHighWaterBytes: high, outboundLowWaterBytes: 16 * 1024 });
    const owner = await h.owner('f');
    const users = [await h.user(owner.conn, 'f', 0, 0, 0), await h.user(owner.conn, 'f', 0, 0, 1)];
    owner.client.socket.pause();
    const body = Buffer.alloc(32764, 3);
    const perUser = 24 * 1024 * 1024;
    let peak = 0;
    const sends = users.map(async (u) => {
      for (let sent = 0; sent < perUser; sent += body.length) {
        if (!u.client.socket.write(frame(Buffer.concat([Buffer.of(0), body])))) await new Promise((r) => u.client.socket.once('drain', r));
      }
    });
    const paused = await h.statsUntil('a paused sender', (s) => {
      peak = Math.max(peak, s.backlogBytes);
      return s.backpressuredNow > 0;
    }, 10_000);
    expect(paused.backpressured).toBeGreaterThan(0);
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, h.stats().backlogBytes);
      await sleep(10);
    }
    // Bounded by the high-water mark plus what one read of each sender adds, far under the flood.
    expect(peak).toBeLessThan(2 * max);
    owner.client.socket.resume();
    // Every byte both sent: whole frames, so a little more than perUser each.
    const frames = Math.ceil(perUser / body.length);
    const data = await owner.client.readData(2 * frames * body.length, 30_000);
    await Promise.all(sends);
    const byUser = [0, 0];
    for (const u of data) byUser[u.b]! += u.data.length;
    expect(byUser).toEqual([frames * body.length, frames * body.length]);
    const s = h.stats();
    expect(s.slow_reader).toBe(0);
    expect(s.connections).toBe(3);
  }, 60_000);

  it('inbound byte budget with the disconnect policy closes with rate_limit', async () => {
    const h = Harness.start({ inboundBytesPerSec: 1000, inboundBurstSeconds: 1, inboundPolicy: 1 });
    const owner = await h.owner('r');
    owner.client.write(Buffer.alloc(4000, 0x02));
    expect((await h.next(EventType.Closed, owner.conn)).a).toBe(3);
  });

  it('inbound unit budget with the throttle policy pauses the reader and still forwards everything', async () => {
    const h = Harness.start({ inboundUnitsPerSec: 200, inboundBurstSeconds: 0.1 });
    const owner = await h.owner('t');
    const user = await h.user(owner.conn, 't', 0, 0, 0);
    for (let i = 0; i < 60; i++) user.client.write(frame(Buffer.of(0, i)));
    const got = await owner.client.readData(60, 5000);
    expect(Buffer.concat(got.map((u) => u.data))).toEqual(Buffer.from(Array.from({ length: 60 }, (_, i) => i)));
    expect(h.stats().throttled).toBeGreaterThan(0);
  });

  it('closes a socket that sends nothing within loginTimeoutMs: CONNECT, then CLOSED login_timeout, no ACCEPT', async () => {
    const h = Harness.start({ loginTimeoutMs: 150 });
    const c = await Client.connect(h.port);
    const connect = await h.next(EventType.Connect);
    expect(connect.b).toBe(c.localPort);
    expect(connect.bytes.toString()).toBe('127.0.0.1');
    await c.waitClosed(3000);
    const closed = await h.next(EventType.Closed, connect.conn);
    expect(closed.a).toBe(8);
    const s = h.stats();
    expect(s.loginTimeouts).toBe(1);
    expect(s.pendingConnections).toBe(0);
    expect(h.events.filter((e) => e.type === EventType.Accept)).toHaveLength(0);
  });

  it('close() at CONNECT refuses a socket at once, without a byte or an event, whatever it sends', async () => {
    const h = Harness.start();
    const c = await Client.connect(h.port);
    const connect = await h.next(EventType.Connect);
    h.engine.close(connect.conn, 7);
    c.write(command(0, 1, Buffer.from('late')));
    await c.waitClosed();
    expect(c.total).toBe(0);
    await sleep(30);
    expect(h.events).toHaveLength(0);
    expect(h.stats().pendingConnections).toBe(0);
  });

  it('closes an admitted peer silent past idleTimeoutMs with idle', async () => {
    const h = Harness.start({ idleTimeoutMs: 200 });
    const owner = await h.owner('i');
    const e = await h.next(EventType.Closed, owner.conn, 3000);
    expect(e.a).toBe(6);
    await owner.client.waitClosed();
  });

  it('sends the keepalive after keepaliveMs of outbound silence once anything was sent (joint.md §7)', async () => {
    const h = Harness.start({ keepaliveMs: 100 });
    const { client, conn } = await h.accept(command(0, 1, Buffer.from('k')));
    await h.next(EventType.Command, conn);
    await sleep(250);
    expect(client.available).toBe(0);
    h.engine.send(conn, Uint8Array.of(0, 3, 1, 0, 0));
    expect((await client.read(5)).toString('hex')).toBe('0003010000');
    expect((await client.read(6, 2000)).toString('hex')).toBe('000400ff0000');
  });

  it('answers a bad WebSocket upgrade request with an HTTP error and closes it (counted, CLOSED protocol_error)', async () => {
    const h = Harness.start();
    const c = await Client.connect(h.port);
    c.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await c.waitClosed();
    expect(h.stats().webSocketRefused).toBe(1);
    const connect = await h.next(EventType.Connect);
    const closed = await h.next(EventType.Closed, connect.conn);
    expect(closed.a).toBe(2);
    expect(closed.bytes.toString()).toMatch(/^websocket handshake: /);
    expect(h.events.filter((e) => e.type === EventType.Accept)).toHaveLength(0);
  });

  it('close() from JavaScript flushes what is queued, then closes, with no CLOSED event', async () => {
    const h = Harness.start();
    const { client, conn } = await h.accept(command(0, 1, Buffer.from('c')));
    await h.next(EventType.Command, conn);
    h.engine.send(conn, Uint8Array.of(0, 3, 1, 1, 0));
    h.engine.close(conn, 7, true);
    expect((await client.read(5)).toString('hex')).toBe('0003010100');
    await client.waitClosed();
    await sleep(30);
    expect(h.events.filter((e) => e.type === EventType.Closed)).toHaveLength(0);
    expect(h.stats().shutdown).toBe(1);
  });

  it('stop() closes open connections and joins the thread; later calls do nothing', async () => {
    const h = Harness.start();
    const owner = await h.owner('x');
    const user = await h.user(owner.conn, 'x', 0, 0, 0);
    const pending = await Client.connect(h.port);
    h.engine.stop();
    await Promise.all([owner.client.waitClosed(), user.client.waitClosed(), pending.waitClosed()]);
    h.engine.stop();
    h.engine.send(owner.conn, Uint8Array.of(1));
    h.engine.admit(owner.conn);
    const s = h.stats();
    expect(s.connections).toBe(0);
    expect(s.shutdown).toBe(2);
  });

  it('drops a peer whose backlog makes no progress for stallTimeoutMs as stalled', async () => {
    const h = Harness.start({ stallTimeoutMs: 300, maxOutboundBytes: 0 });
    const owner = await h.owner('st');
    const user = await h.user(owner.conn, 'st', 0, 0, 0);
    user.client.socket.pause();
    const chunk = frame(Buffer.concat([Buffer.of(0x80, 0), Buffer.alloc(32765, 9)]));
    const closed = h.next(EventType.Closed, user.conn, 15_000);
    let done = false;
    void closed.then(() => (done = true), () => (done = true));
    // Fill the kernel buffers, then stop: the backlog stays and nothing is taken.
    for (let round = 0; round < 400 && !done && h.stats().backlogBytes < 1024 * 1024; round++) {
      for (let i = 0; i < 32; i++) owner.client.write(chunk);
      await sleep(5);
    }
    const e = await closed;
    expect(e.a).toBe(5);
    expect(e.bytes.toString()).toMatch(/none taken for/);
    expect(owner.client.closed).toBe(false);
  });

  it('close() gives a backlog that cannot drain one second, then closes anyway', async () => {
    const h = Harness.start({ maxOutboundBytes: 0 });
    const owner = await h.owner('cg');
    const user = await h.user(owner.conn, 'cg', 0, 0, 0);
    await fillBacklog(h, owner.client, user.client);
    h.engine.close(user.conn, 7, true);
    await h.statsUntil('backlog released', (s) => s.backlogBytes === 0, 4000);
    await sleep(50);
    expect(h.events.filter((e) => e.type === EventType.Closed)).toHaveLength(0);
  });

  it('close() without graceful drops a backlog at once and closes, with no CLOSED event', async () => {
    // A graceful close would hold this backlog for closeGraceMs (10 s): the peer does not read.
    const h = Harness.start({ maxOutboundBytes: 0, closeGraceMs: 10_000 });
    const owner = await h.owner('ab');
    const user = await h.user(owner.conn, 'ab', 0, 0, 0);
    await fillBacklog(h, owner.client, user.client);
    h.engine.close(user.conn, 2);
    await h.statsUntil('backlog dropped', (s) => s.backlogBytes === 0 && s.connections === 1, 3000);
    expect(h.stats().protocol_error).toBe(1);
    await sleep(30);
    expect(h.events.filter((e) => e.type === EventType.Closed)).toHaveLength(0);
  });

  it('names its counters, the disconnect reasons last in code order', () => {
    const h = Harness.start();
    const names = Object.keys(h.stats());
    expect(names.slice(-RELAY_ENGINE_REASONS.length)).toEqual([...RELAY_ENGINE_REASONS]);
    expect(names).toContain('backlogBytes');
  });

  it('refuses bad arguments with TypeError / RangeError naming them', () => {
    const h = Harness.start();
    expect(() => h.engine.enter(1, 128, 1, 0, 0)).toThrow(/jIn/);
    expect(() => h.engine.enter(1, 0, 1, 0, 256)).toThrow(RangeError);
    expect(() => h.engine.send(1, 'x' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => h.engine.admit(0)).toThrow(/conn/);
    expect(() => h.engine.close(1, 9)).toThrow(/reasonCode/);
    expect(() => h.engine.close(1, 7, 1 as unknown as boolean)).toThrow(/graceful/);
    expect(() => new Harness({ closeGraceMs: -1 })).toThrow(/config.closeGraceMs/);
    expect(() => new Harness({ maxEventsInFlight: 0 })).toThrow(/config.maxEventsInFlight/);
    expect(() => new Harness({ maxEventsInFlight: 65537 })).toThrow(RangeError);
    expect(() => h.engine.stats(new Float64Array(2))).toThrow(RangeError);
    expect(() => h.engine.start()).toThrow(/already started/);
    expect(() => new Harness({ port: 70000 })).toThrow(/config.port/);
    expect(() => new Harness({ keepaliveMs: 'x' as unknown as number })).toThrow(TypeError);
  });

  it('listen() on a taken port throws an Error with code EADDRINUSE', () => {
    const a = Harness.start();
    const b = new Harness({ port: a.port });
    let err: (Error & { code?: string }) | undefined;
    try {
      b.engine.listen();
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err?.code).toBe('EADDRINUSE');
    expect(err?.message).toMatch(/EADDRINUSE/);
  });
});
