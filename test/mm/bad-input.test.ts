import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { Server, Client, EventType, type ServerOptions } from '../../src/mm/index.js';
import { EventLog, KEY, frame, hello, rawSocket, sleep, tcpProxy, until } from './helpers.js';

const servers: Server[] = [];
const clients: Client[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.close();
});

/** A server with one healthy client, and a raw socket for the attacker. */
async function arena(options: ServerOptions = {}) {
  const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true, ...options });
  servers.push(server);
  const log = new EventLog(() => server.pollEvents());
  const good = new Client('127.0.0.1', server.getPort(), undefined, { ownQueue: true });
  clients.push(good);
  const glog = new EventLog(() => good.pollEvents());
  expect((await good.waitForConnect())[0]).toBe(true);
  await log.until((e) => e.some((x) => x.type === EventType.CONNECT));
  const bad = await rawSocket(server.getPort());
  sockets.push(bad);
  return { server, log, good, glog, bad };
}

/** The attacker is dropped with `reason`; the healthy client still exchanges tables. */
async function expectDropped(a: Awaited<ReturnType<typeof arena>>, reason: RegExp) {
  await a.log.until((e) => e.some((x) => x.type === EventType.ERROR));
  const err = a.log.of(EventType.ERROR)[0] as { error: string; object: unknown };
  expect(err.error).toMatch(reason);
  expect(err.object).not.toBe(a.server);
  await until(() => a.bad.gone);
  expect(a.log.of(EventType.RECEIVE).length).toBe(0);
  // The server and its other client are unaffected.
  expect(a.server.connectionCount()).toBe(1);
  a.good.send({ still: 'here' });
  await a.log.until((e) => e.some((x) => x.type === EventType.RECEIVE));
  a.server.broadcast({ back: 1 });
  await a.glog.until((e) => e.some((x) => x.type === EventType.RECEIVE));
  expect(a.glog.of(EventType.SERVER_CLOSE).length).toBe(0);
}

describe('hostile input', () => {
  it('garbage instead of a handshake', async () => {
    const a = await arena();
    a.bad.write(Buffer.from([0x27, 0, 0, 0, ...Buffer.from('garbage garbage garbage garbage garbage')]));
    await expectDropped(a, /not a gamewire mm client/);
  });

  it('random bytes after the handshake', async () => {
    const a = await arena();
    a.bad.write(hello());
    await a.log.until((e) => e.filter((x) => x.type === EventType.CONNECT).length === 2);
    a.bad.write(Buffer.from([9, 0, 0, 0, 0x99, 1, 2, 3, 4, 5, 6, 7, 8]));
    await expectDropped(a, /unexpected frame type 0x99/);
  });

  it('an oversize frame length, refused before buffering', async () => {
    const a = await arena();
    a.bad.write(hello());
    a.bad.write(Buffer.from([0xff, 0xff, 0xff, 0x7f]));
    await expectDropped(a, /frame larger than the maximum frame size/);
  });

  it('a message length above maxMessageBytes', async () => {
    const a = await arena({ maxMessageBytes: 1024 });
    a.bad.write(hello());
    a.bad.write(frame(0x10, 0xff, 0x7f));
    await expectDropped(a, /message too large/);
  });

  it('a table that does not decode (0xc1) and one of a type outside the subset (bin)', async () => {
    const a = await arena();
    a.bad.write(hello());
    a.bad.write(frame(0x10, 0x00, 0xc1));
    await expectDropped(a, /invalid table: unsupported MessagePack type 0xc1/);
    const bad2 = await rawSocket(a.server.getPort());
    sockets.push(bad2);
    bad2.write(hello());
    bad2.write(frame(0x10, 0x02, 0xc4, 0x01, 0x00));
    await a.log.until((e) => e.filter((x) => x.type === EventType.ERROR).length === 2);
    expect((a.log.of(EventType.ERROR)[1] as { error: string }).error).toMatch(/unsupported MessagePack type 0xc4/);
  });

  it('a table nested deeper than maxTableDepth', async () => {
    const a = await arena();
    a.bad.write(hello());
    const deep = Buffer.concat([Buffer.alloc(100, 0x91), Buffer.from([0xc0])]);
    a.bad.write(frame(Buffer.concat([Buffer.from([0x10, deep.length - 1]), deep])));
    await expectDropped(a, /nesting deeper than 64/);
  });

  it('a truncated table (an array that claims more items than it has)', async () => {
    const a = await arena();
    a.bad.write(hello());
    a.bad.write(frame(0x10, 0x01, 0x93, 0x01));
    await expectDropped(a, /truncated table/);
  });

  it('a truncated frame followed by a hang-up delivers nothing', async () => {
    const a = await arena();
    a.bad.write(hello());
    await a.log.until((e) => e.filter((x) => x.type === EventType.CONNECT).length === 2);
    a.bad.end(Buffer.from([20, 0, 0, 0, 0x10, 0x00]));
    await a.log.until((e) => e.some((x) => x.type === EventType.CLIENT_CLOSE));
    expect((a.log.of(EventType.CLIENT_CLOSE)[0] as { reason: string }).reason).toMatch(/connection lost/);
    expect(a.log.of(EventType.RECEIVE).length).toBe(0);
    expect(a.server.connectionCount()).toBe(1);
  });

  it('a flood of messages', async () => {
    const a = await arena({ maxInboundPerSecond: 500 });
    a.bad.write(hello());
    const one = frame(0x10, 0x00, 0xc0);
    a.bad.write(Buffer.concat(Array.from({ length: 2000 }, () => one)));
    await a.log.until((e) => e.some((x) => x.type === EventType.ERROR));
    expect((a.log.of(EventType.ERROR)[0] as { error: string }).error).toBe('flood');
    expect(a.log.of(EventType.RECEIVE).length).toBeLessThanOrEqual(500);
    await until(() => a.bad.gone);
    expect(a.server.connectionCount()).toBe(1);
  });

  it('a client that never reads: "send buffer overflow", memory bounded', async () => {
    const a = await arena({ maxSendBufferBytes: 64 * 1024 });
    a.bad.write(hello());
    await a.log.until((e) => e.filter((x) => x.type === EventType.CONNECT).length === 2);
    a.bad.pause();
    const big = { blob: 'x'.repeat(60_000) };
    for (let i = 0; i < 400 && a.log.of(EventType.ERROR).length === 0; i++) {
      a.server.broadcast(big);
      await sleep(1);
    }
    await a.log.until((e) => e.some((x) => x.type === EventType.ERROR));
    expect((a.log.of(EventType.ERROR)[0] as { error: string }).error).toBe('send buffer overflow');
    await a.log.until((e) => e.some((x) => x.type === EventType.CLIENT_CLOSE));
    // The healthy client got everything meanwhile and is still connected.
    expect(a.server.connectionCount()).toBe(1);
    expect(a.good.isConnected()).toBe(true);
  });

  it('a client that sends nothing after connecting is dropped by the keepalive timeout', async () => {
    const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true, keepaliveTimeoutMs: 100, keepaliveIntervalMs: 20 });
    servers.push(server);
    const log = new EventLog(() => server.pollEvents());
    const s = await rawSocket(server.getPort());
    sockets.push(s);
    s.write(hello());
    await log.until((e) => e.some((x) => x.type === EventType.CLIENT_CLOSE));
    expect((log.of(EventType.ERROR)[0] as { error: string }).error).toBe('keepalive timeout');
    expect((log.of(EventType.CLIENT_CLOSE)[0] as { reason: string }).reason).toBe('keepalive timeout');
  });

  it('a raw socket that never sends a byte is closed after the handshake timeout', async () => {
    const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true, handshakeTimeoutMs: 50 });
    servers.push(server);
    const s = await rawSocket(server.getPort());
    sockets.push(s);
    await until(() => s.gone);
  });

  it.each([
    ['a flipped bit', (d: Buffer) => ((d[6]! ^= 0x40), d)],
    ['a replayed frame', (d: Buffer) => Buffer.concat([d, d])],
    ['a cut-off frame followed by another', (d: Buffer) => Buffer.concat([Buffer.from([d.length - 4 - 3, 0, 0, 0]), d.subarray(4, d.length - 3), d])],
  ])('an encrypted connection carrying %s: "authentication failed", others unaffected', async (_n, mutate) => {
    const server = await Server.listen('127.0.0.1', 0, KEY, { ownQueue: true });
    servers.push(server);
    const log = new EventLog(() => server.pollEvents());
    let tamper = false;
    const proxy = await tcpProxy(server.getPort(), (d) => (tamper ? mutate(Buffer.from(d)) : d));
    try {
      const good = new Client('127.0.0.1', server.getPort(), KEY, { ownQueue: true });
      const victim = new Client('127.0.0.1', proxy.port, KEY, { ownQueue: true });
      clients.push(good, victim);
      expect((await good.waitForConnect())[0]).toBe(true);
      expect((await victim.waitForConnect())[0]).toBe(true);
      await log.until((e) => e.filter((x) => x.type === EventType.CONNECT).length === 2);
      tamper = true;
      victim.send({ pay: 'load' });
      await log.until((e) => e.some((x) => x.type === EventType.CLIENT_CLOSE));
      expect((log.of(EventType.ERROR)[0] as { error: string }).error).toBe('authentication failed');
      // The genuine first copy of a replayed frame is delivered; nothing after it is.
      expect(log.of(EventType.RECEIVE).length).toBe(_n === 'a replayed frame' ? 1 : 0);
      good.send({ still: 'fine' });
      await log.until((e) => e.some((x) => x.type === EventType.RECEIVE));
      expect(server.connectionCount()).toBe(1);
    } finally {
      await proxy.close();
    }
  });
});
