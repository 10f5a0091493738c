import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server as NetServer } from 'node:net';
import { Server, Client, Connection, EventType, MmArgumentError, type MmEvent } from '../../src/mm/index.js';
import { EventLog, KEY, until } from './helpers.js';

const servers: Server[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.close();
});

async function setup(n = 1, key?: string, options = {}) {
  const server = await Server.listen('127.0.0.1', 0, key, { ownQueue: true, ...options });
  servers.push(server);
  const log = new EventLog(() => server.pollEvents());
  const cs: Client[] = [];
  const logs: EventLog[] = [];
  for (let i = 0; i < n; i++) {
    const c = new Client('127.0.0.1', server.getPort(), key, { ownQueue: true });
    clients.push(c);
    cs.push(c);
    logs.push(new EventLog(() => c.pollEvents()));
  }
  await log.until((e) => e.filter((x) => x.type === EventType.CONNECT).length === n);
  for (const c of cs) expect((await c.waitForConnect())[0]).toBe(true);
  const conns = log.of(EventType.CONNECT).map((e) => e.object as Connection);
  return { server, log, clients: cs, logs, conns };
}

const packets = (events: MmEvent[]) => events.filter((e) => e.type === EventType.RECEIVE).map((e) => (e as { packet: unknown }).packet);

describe('Server arguments', () => {
  it.each([[80], [70000], [1.5], [-1]])('rejects port %s with a typed error', (port) => {
    const err = (() => {
      try {
        new Server('127.0.0.1', port);
      } catch (e) {
        return e;
      }
    })() as MmArgumentError;
    expect(err).toBeInstanceOf(MmArgumentError);
    expect(err).toBeInstanceOf(RangeError);
    expect(err.code).toBe('GW_ERR_BAD_PORT');
  });

  it('rejects a bad key, naming the problem', () => {
    expect(() => new Server('127.0.0.1', 0, 'abcd')).toThrow(/32 hex digits \(AES-128\) or 64 \(AES-256\)/);
    expect(() => new Server('127.0.0.1', 0, 'g'.repeat(32))).toThrow(/only hex digits/);
    try {
      new Server('127.0.0.1', 0, 'abcd');
    } catch (e) {
      expect((e as MmArgumentError).code).toBe('GW_ERR_BAD_KEY');
    }
  });

  it('rejects a bad address and bad options', () => {
    expect(() => new Server('' as string)).toThrow(MmArgumentError);
    expect(() => new Server('127.0.0.1', 0, undefined, { maxFrameBytes: 10 })).toThrow(/maxFrameBytes/);
    expect(() => new Server('127.0.0.1', 0, undefined, { maxConnections: 0 })).toThrow(/maxConnections/);
  });

  it('refuses an unknown option with a TypeError naming it (issue 16 item 10)', () => {
    expect(() => new Server('127.0.0.1', 0, undefined, { maxConections: 5 } as never)).toThrow(TypeError);
    expect(() => new Server('127.0.0.1', 0, undefined, { maxConections: 5 } as never)).toThrow(/^Server: unknown option 'maxConections'/);
  });

  it('reports a listen failure as an ERROR event and a rejected ready', async () => {
    const blocker: NetServer = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const server = new Server('127.0.0.1', port, undefined, { ownQueue: true });
      servers.push(server);
      await expect(server.ready).rejects.toThrow(/EADDRINUSE/);
      const log = new EventLog(() => server.pollEvents());
      const errs = log.of(EventType.ERROR);
      expect(errs.length).toBe(1);
      expect((errs[0] as { error: string }).error).toMatch(/listen on 127.0.0.1:\d+ failed/);
    } finally {
      blocker.close();
    }
  });
});

describe('Server', () => {
  it('binds an OS-chosen port and reports address, port and a unique socket id', async () => {
    const { server, clients: [c], conns: [conn] } = await setup(1);
    expect(server.getPort()).toBeGreaterThan(0);
    expect(server.getAddress()).toBe('127.0.0.1');
    expect(server.isOpen()).toBe(true);
    const ids = new Set([server.getSocket(), c!.getSocket(), conn!.getSocket()]);
    expect(ids.size).toBe(3);
    expect(conn!.getAddress()).toMatch(/127\.0\.0\.1/);
    expect(conn!.getPort()).toBeGreaterThan(0);
    expect(conn!.isConnected()).toBe(true);
    expect(server.connectionCount()).toBe(1);
    expect(server.connections().length).toBe(1);
    expect(server.connections()[0]).toBe(conn);
  });

  it('queues CONNECT with the Connection and RECEIVE with the decoded table', async () => {
    const { log, clients: [c], conns: [conn] } = await setup(1);
    expect(c!.send({ x: 1.5, name: 'ann', list: [1, 'two', null, true], nested: { deep: { er: [] } } })).toBe(true);
    await log.until((e) => packets(e).length === 1);
    const ev = log.of(EventType.RECEIVE)[0]!;
    expect(ev.object).toBe(conn);
    expect((ev as { packet: unknown }).packet).toEqual({ x: 1.5, name: 'ann', list: [1, 'two', null, true], nested: { deep: { er: [] } } });
    expect(ev.timestamp).toBeGreaterThan(1.7e9);
    // Events serialise compactly (objects describe themselves, not their internals).
    expect(JSON.parse(JSON.stringify(ev)).object).toEqual({ kind: 'Connection', socket: conn!.getSocket(), address: conn!.getAddress(), port: conn!.getPort() });
  });

  it('sends to chosen connections and counts them', async () => {
    const { server, clients: cs, logs, conns } = await setup(3);
    expect(server.send({ to: 'first two' }, conns[0]!, conns[1]!)).toBe(2);
    expect(server.send({ to: 'none' })).toBe(0);
    await logs[0]!.until((e) => packets(e).length === 1);
    await logs[1]!.until((e) => packets(e).length === 1);
    expect(packets(logs[0]!.events)).toEqual([{ to: 'first two' }]);
    expect(packets(logs[2]!.take())).toEqual([]);
    expect(conns[2]!.send({ via: 'connection' })).toBe(true);
    await logs[2]!.until((e) => packets(e).length === 1);
    expect(cs.length).toBe(3);
  });

  it('broadcasts to every connection and counts them', async () => {
    const { server, logs } = await setup(3);
    expect(server.broadcast({ all: true })).toBe(3);
    for (const l of logs) await l.until((e) => packets(e).length === 1);
  });

  it('throws a TypeError for a table outside the subset and sends nothing', async () => {
    const { server, logs, conns } = await setup(1);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => server.send({ f: () => 1 } as never, conns[0]!)).toThrow(TypeError);
    expect(() => server.broadcast({ b: 10n } as never)).toThrow(TypeError);
    expect(() => server.broadcast(new Date() as never)).toThrow(/not a plain object/);
    expect(() => server.broadcast(cyclic as never)).toThrow(/cycle/);
    expect(() => server.broadcast({ s: Symbol('x') } as never)).toThrow(TypeError);
    server.broadcast({ ok: 1 });
    await logs[0]!.until((e) => packets(e).length === 1);
    expect(packets(logs[0]!.events)).toEqual([{ ok: 1 }]);
  });

  it('throws a RangeError for a table above maxMessageBytes', async () => {
    const { server } = await setup(1, undefined, { maxMessageBytes: 100 });
    expect(() => server.broadcast({ s: 'x'.repeat(200) })).toThrow(RangeError);
  });

  it('disconnects connections: CLIENT_CLOSE on the server, SERVER_CLOSE on the client', async () => {
    const { server, log, logs, conns } = await setup(2);
    expect(server.disconnect(conns[0]!)).toBe(1);
    expect(server.disconnect(conns[0]!)).toBe(0);
    await log.until((e) => e.some((x) => x.type === EventType.CLIENT_CLOSE));
    const close = log.of(EventType.CLIENT_CLOSE)[0] as { object: Connection; reason: string };
    expect(close.object).toBe(conns[0]);
    expect(close.reason).toBe('disconnected by server');
    await logs[0]!.until((e) => e.some((x) => x.type === EventType.SERVER_CLOSE));
    expect((logs[0]!.of(EventType.SERVER_CLOSE)[0] as { reason: string }).reason).toBe('disconnected by server');
    expect(server.connectionCount()).toBe(1);
    expect(conns[0]!.isConnected()).toBe(false);
    expect(conns[0]!.send({ late: true })).toBe(false);
    expect(conns[1]!.disconnect()).toBe(true);
    await log.until((e) => e.filter((x) => x.type === EventType.CLIENT_CLOSE).length === 2);
    expect(server.connectionCount()).toBe(0);
  });

  it('close() tells every client and ends every connection', async () => {
    const { server, log, logs } = await setup(2);
    await server.close();
    expect(server.isOpen()).toBe(false);
    for (const l of logs) {
      await l.until((e) => e.some((x) => x.type === EventType.SERVER_CLOSE));
      expect((l.of(EventType.SERVER_CLOSE)[0] as { reason: string }).reason).toBe('server closing');
    }
    expect(log.of(EventType.CLIENT_CLOSE).length).toBe(2);
  });

  it('refuses connections past maxConnections with "server full"', async () => {
    const { server } = await setup(1, undefined, { maxConnections: 1 });
    const extra = new Client('127.0.0.1', server.getPort(), undefined, { ownQueue: true });
    clients.push(extra);
    const [ok] = await extra.waitForConnect();
    expect(ok).toBe(false);
    const l = new EventLog(() => extra.pollEvents());
    const connected = l.of(EventType.CONNECTED)[0] as { result: boolean; error: string };
    expect(connected.result).toBe(false);
    expect(connected.error).toBe('server full');
    expect(server.connectionCount()).toBe(1);
  });

  it('encrypts with AES-128 and AES-256 keys', async () => {
    for (const key of [KEY, 'ab'.repeat(32)]) {
      const { server, logs } = await setup(1, key);
      server.broadcast({ secret: key.length });
      await logs[0]!.until((e) => packets(e).length === 1);
      expect(packets(logs[0]!.events)).toEqual([{ secret: key.length }]);
    }
  });

  it('keeps connection handles valid until CLIENT_CLOSE, whatever the garbage collector does', async () => {
    const { server, log } = await setup(1);
    (globalThis as { gc?: () => void }).gc?.();
    await until(() => server.connectionCount() === 1);
    expect(log.of(EventType.CLIENT_CLOSE).length).toBe(0);
  });
});
