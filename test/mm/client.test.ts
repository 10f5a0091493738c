import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { Server, Client, EventType, MmArgumentError, type MmEvent } from '../../src/mm/index.js';
import { EventLog, KEY, frame, sleep } from './helpers.js';

const servers: Server[] = [];
const clients: Client[] = [];
const raw: NetServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.close();
  for (const s of sockets.splice(0)) s.destroy();
  for (const r of raw.splice(0)) await new Promise((done) => r.close(done));
});

async function server(key?: string, options = {}) {
  const s = await Server.listen('127.0.0.1', 0, key, { ownQueue: true, ...options });
  servers.push(s);
  return { s, log: new EventLog(() => s.pollEvents()) };
}

function client(port: number, key?: string, options = {}) {
  const c = new Client('127.0.0.1', port, key, { ownQueue: true, ...options });
  clients.push(c);
  return { c, log: new EventLog(() => c.pollEvents()) };
}

/** A TCP server that accepts and then does whatever `onSocket` says. */
async function rawServer(onSocket: (s: Socket) => void): Promise<number> {
  const r = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    onSocket(s);
  });
  raw.push(r);
  await new Promise<void>((done) => r.listen(0, '127.0.0.1', () => done()));
  return (r.address() as { port: number }).port;
}

const types = (events: MmEvent[]) => events.map((e) => e.type);

describe('Client arguments', () => {
  it('rejects bad ports and keys with typed errors', () => {
    expect(() => new Client('127.0.0.1', 0)).toThrow(MmArgumentError);
    expect(() => new Client('127.0.0.1', 70000)).toThrow(/port/);
    expect(() => new Client('127.0.0.1', 4096, '123')).toThrow(/32 hex digits/);
    expect(() => new Client('', 4096)).toThrow(/address/);
  });

  it('rejects waitForConnect timeouts outside 0.25..10 s', async () => {
    const { s } = await server();
    const { c } = client(s.getPort());
    await expect(c.waitForConnect(0.1)).rejects.toThrow(RangeError);
    await expect(c.waitForConnect(11)).rejects.toThrow(/0.25..10/);
  });
});

describe('Client', () => {
  it('connects: CONNECTED true, waitForConnect [true, seconds], address/port/socket', async () => {
    const { s } = await server();
    const { c, log } = client(s.getPort());
    expect(c.send({ early: true })).toBe(false);
    const [ok, secs] = await c.waitForConnect();
    expect(ok).toBe(true);
    expect(secs).toBeGreaterThanOrEqual(0);
    expect(secs).toBeLessThan(2);
    expect(await c.waitForConnect(0.25)).toEqual([true, 0]);
    const connected = log.of(EventType.CONNECTED);
    expect(connected.length).toBe(1);
    expect((connected[0] as { result: boolean }).result).toBe(true);
    expect(connected[0]!.object).toBe(c);
    expect(c.isConnected()).toBe(true);
    expect(c.getPort()).toBe(s.getPort());
    expect(c.getAddress()).toBe('127.0.0.1');
    expect(typeof c.getSocket()).toBe('number');
  });

  it('sends tables to the server and receives its tables', async () => {
    const { s, log: slog } = await server(KEY);
    const { c, log } = client(s.getPort(), KEY);
    await c.waitForConnect();
    expect(c.send({ pos: [1, 2] })).toBe(true);
    await slog.until((e) => e.some((x) => x.type === EventType.RECEIVE));
    s.broadcast({ ack: 1 });
    await log.until((e) => e.some((x) => x.type === EventType.RECEIVE));
    const rec = log.of(EventType.RECEIVE)[0] as { packet: unknown; object: unknown };
    expect(rec.packet).toEqual({ ack: 1 });
    expect(rec.object).toBe(c);
  });

  it('reports a refused connection: ERROR then CONNECTED false', async () => {
    const port = await rawServer(() => {});
    raw.pop()!.close();
    await sleep(10);
    const { c, log } = client(port);
    const [ok] = await c.waitForConnect();
    expect(ok).toBe(false);
    const events = log.take();
    expect(types(events)).toEqual([EventType.ERROR, EventType.CONNECTED]);
    expect((events[0] as { error: string }).error).toMatch(/connect to 127.0.0.1:\d+ failed/);
    expect((events[1] as { result: boolean }).result).toBe(false);
  });

  it('waitForConnect gives up after its timeout when the server never answers', async () => {
    const port = await rawServer(() => {});
    const { c } = client(port);
    const [ok, secs] = await c.waitForConnect(0.25);
    expect(ok).toBe(false);
    expect(secs).toBeGreaterThanOrEqual(0.24);
    expect(secs).toBeLessThan(1);
  });

  it('fails the handshake after handshakeTimeoutMs', async () => {
    const port = await rawServer(() => {});
    const { c, log } = client(port, undefined, { handshakeTimeoutMs: 50 });
    await log.until((e) => e.some((x) => x.type === EventType.CONNECTED));
    expect((log.of(EventType.ERROR)[0] as { error: string }).error).toBe('handshake timeout');
    expect(c.isConnected()).toBe(false);
  });

  it('drops a silent server with "keepalive timeout", then SERVER_CLOSE', async () => {
    // A fake server that answers the HELLO with a plaintext WELCOME, then never speaks again.
    const port = await rawServer((s) => {
      s.once('data', () => s.write(frame(Buffer.concat([Buffer.from([2]), Buffer.from('GWMM'), Buffer.from([1, 0]), Buffer.alloc(32, 9)]))));
    });
    const { c, log } = client(port, undefined, { keepaliveTimeoutMs: 80, keepaliveIntervalMs: 20 });
    expect((await c.waitForConnect())[0]).toBe(true);
    await log.until((e) => e.some((x) => x.type === EventType.SERVER_CLOSE));
    expect(types(log.events)).toEqual([EventType.CONNECTED, EventType.ERROR, EventType.SERVER_CLOSE]);
    expect((log.events[1] as { error: string }).error).toBe('keepalive timeout');
  });

  it('reports a version mismatch from a server speaking another version', async () => {
    const port = await rawServer((s) => {
      s.once('data', () => s.write(frame(Buffer.concat([Buffer.from([2]), Buffer.from('GWMM'), Buffer.from([9, 0]), Buffer.alloc(32, 9)]))));
    });
    const { c, log } = client(port);
    expect((await c.waitForConnect())[0]).toBe(false);
    expect((log.of(EventType.ERROR)[0] as { error: string }).error).toMatch(/version mismatch: this client speaks 1, the server 9/);
  });

  it('reports a version mismatch on both sides against a real server', async () => {
    const { s, log: slog } = await server();
    const { c, log } = client(s.getPort(), undefined, { protocolVersion: 2 });
    expect((await c.waitForConnect())[0]).toBe(false);
    expect((log.of(EventType.ERROR)[0] as { error: string }).error).toMatch(/version mismatch/);
    await slog.until((e) => e.some((x) => x.type === EventType.ERROR));
    expect((slog.of(EventType.ERROR)[0] as { error: string }).error).toMatch(/version mismatch: this server speaks 1, the client 2/);
    expect(slog.of(EventType.CONNECT).length).toBe(0);
  });

  it('disconnect() closes the connection: CLIENT_CLOSE on the server, no event on the client', async () => {
    const { s, log: slog } = await server();
    const { c, log } = client(s.getPort());
    await c.waitForConnect();
    log.take();
    c.disconnect();
    expect(c.isConnected()).toBe(false);
    expect(c.send({ late: 1 })).toBe(false);
    await slog.until((e) => e.some((x) => x.type === EventType.CLIENT_CLOSE));
    expect((slog.of(EventType.CLIENT_CLOSE)[0] as { reason: string }).reason).toBe('disconnected by client');
    await sleep(20);
    expect(types(log.take())).toEqual([EventType.CONNECTED]);
  });

  it('sees SERVER_CLOSE when the connection is lost', async () => {
    let sock: Socket | null = null;
    const port = await rawServer((s) => {
      sock = s;
      s.once('data', () => s.write(frame(Buffer.concat([Buffer.from([2]), Buffer.from('GWMM'), Buffer.from([1, 0]), Buffer.alloc(32, 9)]))));
    });
    const { c, log } = client(port);
    await c.waitForConnect();
    sock!.destroy();
    await log.until((e) => e.some((x) => x.type === EventType.SERVER_CLOSE));
    expect((log.of(EventType.SERVER_CLOSE)[0] as { reason: string }).reason).toMatch(/connection lost/);
  });
});

describe('encryption between Client and Server', () => {
  it('fails with "authentication failed" on both sides for a wrong key', async () => {
    const { s, log: slog } = await server(KEY);
    const { c, log } = client(s.getPort(), 'F'.repeat(32));
    expect((await c.waitForConnect())[0]).toBe(false);
    expect((log.of(EventType.ERROR)[0] as { error: string }).error).toBe('authentication failed');
    await slog.until((e) => e.some((x) => x.type === EventType.ERROR));
    expect((slog.of(EventType.ERROR)[0] as { error: string }).error).toBe('authentication failed');
    expect(slog.of(EventType.CONNECT).length).toBe(0);
  });

  it.each([
    ['the client only', undefined, KEY, /the client has a key, this server has none/],
    ['the server only', KEY, undefined, /this server has a key, the client has none/],
  ])('names a key on %s on both sides', async (_n, skey, ckey, re) => {
    const { s, log: slog } = await server(skey);
    const { c, log } = client(s.getPort(), ckey);
    expect((await c.waitForConnect())[0]).toBe(false);
    expect((log.of(EventType.ERROR)[0] as { error: string }).error).toMatch(re);
    await slog.until((e) => e.some((x) => x.type === EventType.ERROR));
    expect((slog.of(EventType.ERROR)[0] as { error: string }).error).toMatch(re);
  });
});
