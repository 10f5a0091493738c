import { afterEach, describe, expect, it } from 'vitest';
import { Server, Client, EventType, pollEvents, droppedEvents, configureEventQueue, type MmEvent } from '../../src/mm/index.js';
import { EventQueue } from '../../src/mm/events.js';
import { EventLog, sleep } from './helpers.js';

const servers: Server[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.close();
  await sleep(20);
  pollEvents();
});

describe('the global event queue', () => {
  it('hands out every event kind in order, with increasing timestamps', async () => {
    const log = new EventLog(pollEvents);
    const server = await Server.listen('127.0.0.1', 0);
    servers.push(server);
    const client = new Client('127.0.0.1', server.getPort());
    clients.push(client);
    await log.until((e) => e.some((x) => x.type === EventType.CONNECT) && e.some((x) => x.type === EventType.CONNECTED));
    const conn = log.of(EventType.CONNECT)[0]!.object;
    client.send({ n: 1 });
    await log.until((e) => e.some((x) => x.type === EventType.RECEIVE));
    server.broadcast({ n: 2 });
    await log.until((e) => e.filter((x) => x.type === EventType.RECEIVE).length === 2);
    server.disconnect(conn as never);
    await log.until((e) => e.some((x) => x.type === EventType.SERVER_CLOSE) && e.some((x) => x.type === EventType.CLIENT_CLOSE));
    const bad = new Client('127.0.0.1', server.getPort(), '00'.repeat(16));
    clients.push(bad);
    await log.until((e) => e.some((x) => x.type === EventType.ERROR));
    const seen = new Set(log.events.map((e) => e.type));
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    const ts = log.events.map((e) => e.timestamp);
    for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeGreaterThanOrEqual(ts[i - 1]!);
    const receives = log.of(EventType.RECEIVE) as Extract<MmEvent, { type: 3 }>[];
    expect(receives[0]!.object).toBe(conn);
    expect(receives[0]!.packet).toEqual({ n: 1 });
    expect(receives[1]!.object).toBe(client);
    expect(receives[1]!.packet).toEqual({ n: 2 });
  });

  it('drops the oldest events when full and counts them (droppedEvents)', async () => {
    await sleep(10);
    pollEvents();
    configureEventQueue({ capacity: 10 });
    const server = await Server.listen('127.0.0.1', 0);
    servers.push(server);
    const client = new Client('127.0.0.1', server.getPort());
    clients.push(client);
    await client.waitForConnect();
    await sleep(10);
    const before = droppedEvents();
    for (let i = 0; i < 30; i++) client.send({ i });
    const end = Date.now() + 3000;
    while (droppedEvents() - before < 22 && Date.now() < end) await sleep(5);
    const events = pollEvents();
    expect(events.length).toBe(10);
    const got = events.filter((e) => e.type === EventType.RECEIVE).map((e) => ((e as { packet: unknown }).packet as { i: number }).i);
    expect(got).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    expect(droppedEvents() - before).toBeGreaterThanOrEqual(22);
    expect(() => configureEventQueue({ capacity: 0 })).toThrow(RangeError);
    configureEventQueue({ capacity: 2000 });
  });

  it('refuses to reconfigure a queue that still holds events', async () => {
    const server = await Server.listen('127.0.0.1', 0);
    servers.push(server);
    const client = new Client('127.0.0.1', server.getPort());
    clients.push(client);
    await client.waitForConnect();
    expect(() => configureEventQueue({ capacity: 5 })).toThrow(/poll the queued events first/);
    pollEvents();
  });
});

describe('per-object queues', () => {
  it('keeps a server and a client with their own queues apart from the global one', async () => {
    pollEvents();
    const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true });
    servers.push(server);
    const client = new Client('127.0.0.1', server.getPort());
    clients.push(client);
    await client.waitForConnect();
    const mine = client.pollEvents(); // moves the client to its own queue
    const global = pollEvents();
    expect(global.map((e) => e.type)).toEqual([EventType.CONNECTED]);
    expect(mine.length).toBe(0);
    const slog = new EventLog(() => server.pollEvents());
    await slog.until((e) => e.some((x) => x.type === EventType.CONNECT));
    server.broadcast({ own: true });
    const clog = new EventLog(() => client.pollEvents());
    await clog.until((e) => e.some((x) => x.type === EventType.RECEIVE));
    expect(pollEvents().length).toBe(0);
  });

  it('counts drops per own queue', async () => {
    const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true, queue: { capacity: 3 } });
    servers.push(server);
    const client = new Client('127.0.0.1', server.getPort(), undefined, { ownQueue: true });
    clients.push(client);
    await client.waitForConnect();
    for (let i = 0; i < 10; i++) client.send({ i });
    const end = Date.now() + 3000;
    while (server.droppedEvents() < 8 && Date.now() < end) await sleep(5);
    const events = server.pollEvents();
    expect(events.length).toBe(3);
    expect(server.droppedEvents()).toBe(8);
    expect(client.droppedEvents()).toBe(0);
  });
});

describe('EventQueue.retire', () => {
  it('remembers only owners registered in that queue, so an unpolled queue does not grow', () => {
    const q = new EventQueue({ capacity: 4 });
    const pending = (): number => (q as unknown as { retiring: number[] }).retiring.length;
    for (let id = 1_000_000; id < 1_000_100; id++) q.retire({ id });
    expect(pending()).toBe(0);
    const owner = { id: 2_000_000 };
    q.register(owner);
    q.retire(owner);
    expect(pending()).toBe(1);
    q.poll();
    expect(pending()).toBe(0);
  });
});
