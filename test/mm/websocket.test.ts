import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Server, Client, EventType } from '../../src/mm/index.js';
import { EventLog, KEY256, hello, until } from './helpers.js';

const servers: Server[] = [];
const clients: Client[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.close();
});

describe('WebSocket clients on the TCP port', () => {
  it.each([
    ['plain', undefined],
    ['encrypted', KEY256],
  ])('serves a TCP client and a WebSocket client on one port (%s)', async (_n, key) => {
    const server = await Server.listen('127.0.0.1', 0, key, { ownQueue: true });
    servers.push(server);
    const log = new EventLog(() => server.pollEvents());
    const tcp = new Client('127.0.0.1', server.getPort(), key, { ownQueue: true });
    const ws = new Client('127.0.0.1', server.getPort(), key, { ownQueue: true, transport: 'websocket' });
    clients.push(tcp, ws);
    expect((await tcp.waitForConnect())[0]).toBe(true);
    expect((await ws.waitForConnect())[0]).toBe(true);
    await log.until((e) => e.filter((x) => x.type === EventType.CONNECT).length === 2);
    const big = { blob: 'y'.repeat(200_000) };
    expect(ws.send({ from: 'ws' })).toBe(true);
    expect(ws.send(big)).toBe(true);
    expect(tcp.send({ from: 'tcp' })).toBe(true);
    await log.until((e) => e.filter((x) => x.type === EventType.RECEIVE).length === 3);
    const got = log.of(EventType.RECEIVE).map((e) => (e as { packet: unknown }).packet);
    expect(got).toContainEqual({ from: 'ws' });
    expect(got).toContainEqual({ from: 'tcp' });
    expect(got).toContainEqual(big);
    expect(server.broadcast(big)).toBe(2);
    const wlog = new EventLog(() => ws.pollEvents());
    await wlog.until((e) => e.some((x) => x.type === EventType.RECEIVE));
    expect((wlog.of(EventType.RECEIVE)[0] as { packet: unknown }).packet).toEqual(big);
  });

  it('accepts a ws:// URL as the address', async () => {
    const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true });
    servers.push(server);
    const c = new Client(`ws://127.0.0.1:${server.getPort()}/`, server.getPort(), undefined, { ownQueue: true });
    clients.push(c);
    expect((await c.waitForConnect())[0]).toBe(true);
  });

  it('drops a WebSocket peer sending garbage; others unaffected', async () => {
    const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true });
    servers.push(server);
    const log = new EventLog(() => server.pollEvents());
    const good = new Client('127.0.0.1', server.getPort(), undefined, { ownQueue: true, transport: 'websocket' });
    clients.push(good);
    await good.waitForConnect();
    const bad = new WebSocket(`ws://127.0.0.1:${server.getPort()}/`);
    sockets.push(bad);
    let closed = false;
    bad.on('close', () => (closed = true));
    bad.on('error', () => {});
    await new Promise((r) => bad.once('open', r));
    bad.send(hello());
    bad.send(Buffer.from([4, 0, 0, 0, 0x10, 0x00, 0xc1, 0xc1]));
    await log.until((e) => e.some((x) => x.type === EventType.ERROR));
    expect((log.of(EventType.ERROR)[0] as { error: string }).error).toMatch(/invalid table/);
    await until(() => closed);
    good.send({ ok: true });
    await log.until((e) => e.some((x) => x.type === EventType.RECEIVE));
    expect(server.connectionCount()).toBe(1);
  });
});

describe('WebSocket control frames on the mm port (issue 14 item 6)', () => {
  it('answers a burst of 64 125-byte pings in one write and completes the handshake after it', async () => {
    const { OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, RawWebSocket, clientFrame } = await import('../transport/raw-websocket.js');
    const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true });
    servers.push(server);
    const raw = await RawWebSocket.open(server.getPort());
    try {
      const burst = Buffer.concat(Array.from({ length: 64 }, (_, i) => clientFrame(OP_PING, Buffer.alloc(125, i))));
      raw.send(Buffer.concat([burst, clientFrame(OP_BINARY, hello())]));
      // WELCOME: u32 length 39, type 0x02.
      await until(() => raw.binary().length >= 43);
      expect(raw.binary()[4]).toBe(0x02);
      await until(() => raw.of(OP_PONG).some((f) => f.payload[0] === 63));
      expect(raw.of(OP_CLOSE)).toEqual([]);
      expect(raw.closed).toBe(false);
      expect(server.stats().connections).toBe(1);
    } finally {
      raw.destroy();
    }
  });
});
