import { afterEach, describe, expect, it } from 'vitest';
import { Server, Client, EventType, pollEvents, droppedEvents, configureEventQueue, type MmEvent } from '../../src/mm/index.js';
import { EventQueue } from '../../src/mm/events.js';
import { nodeContext } from '../../src/mm/node-context.js';
import { nodePlatform } from '../../src/platform/node.js';
import { EVENT_RING_ARENA_BYTES, QUEUE_ARENA_BYTES_PER_ENTRY } from '../../src/mm/limits.js';
import { EventLog, sleep, until } from './helpers.js';

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
    const q = new EventQueue(nodePlatform, { capacity: 4 });
    for (let id = 1_000_000; id < 1_000_100; id++) q.retire({ id });
    expect(q.retainedObjects).toBe(0);
    const owner = { id: 2_000_000 };
    q.register(owner);
    q.pushText(EventType.ERROR, owner, 'x');
    q.retire(owner);
    expect(q.retainedObjects).toBe(1); // its event is still queued
    expect(q.poll().map((e) => e.object)).toEqual([owner]);
    expect(q.retainedObjects).toBe(0);
  });

  it('releases a retired owner at once when none of its events is queued', () => {
    const q = new EventQueue(nodePlatform, { capacity: 4 });
    const owner = { id: 2_000_001 };
    q.register(owner);
    q.retire(owner);
    expect(q.retainedObjects).toBe(0);
  });

  it('releases a retired owner when the full ring drops its last event, never before', () => {
    const q = new EventQueue(nodePlatform, { capacity: 4 });
    const a = { id: 3_000_000 };
    const b = { id: 3_000_001 };
    q.register(a);
    q.register(b);
    q.pushText(EventType.ERROR, a, 'a1');
    q.pushText(EventType.ERROR, a, 'a2');
    q.retire(a);
    for (let i = 0; i < 3; i++) q.pushText(EventType.ERROR, b, `b${i}`); // drops a1
    expect(q.retainedObjects).toBe(2);
    q.pushText(EventType.ERROR, b, 'b3'); // drops a2, a's last
    expect(q.retainedObjects).toBe(1);
    const events = q.poll();
    expect(events.map((e) => (e as { error: string }).error)).toEqual(['b0', 'b1', 'b2', 'b3']);
    expect(q.dropped).toBe(2);
  });

  it('never polled: 100 000 owners come and go, retained objects stay within the ring capacity', () => {
    const q = new EventQueue(nodePlatform, { capacity: 64 });
    let most = 0;
    for (let i = 0; i < 100_000; i++) {
      const owner = { id: 5_000_000 + i };
      q.register(owner);
      q.push(EventType.CONNECT, owner);
      q.pushText(EventType.CLIENT_CLOSE, owner, 'bye');
      q.retire(owner);
      most = Math.max(most, q.retainedObjects);
    }
    expect(most).toBeLessThanOrEqual(64);
    const events = q.poll();
    expect(events.length).toBe(64);
    // The survivors resolve to their objects: the newest 32 owners, two events each.
    expect(events.every((e) => (e.object as unknown as { id: number }).id >= 5_000_000 + 100_000 - 32)).toBe(true);
    expect(q.retainedObjects).toBe(0);
  });

  it('an owner retired while the queue is polled stays resolvable for the rest of that poll', () => {
    const q = new EventQueue(nodePlatform, { capacity: 8 });
    const owner = {
      id: 4_000_000,
      dropForBadTable: (reason: string): void => {
        q.pushText(EventType.ERROR, owner, reason);
        q.retire(owner);
      },
    };
    q.register(owner);
    q.push(EventType.RECEIVE, owner, Uint8Array.of(0x92, 0x01)); // an array of 2 with 1 item: truncated
    q.pushText(EventType.CLIENT_CLOSE, owner, 'later');
    const first = q.poll();
    expect(first.map((e) => e.type)).toEqual([EventType.ERROR, EventType.CLIENT_CLOSE]);
    expect(q.retainedObjects).toBe(1); // the ERROR pushed during the poll still needs it
    const second = q.poll();
    expect(second.map((e) => e.object)).toEqual([owner]);
    expect(q.retainedObjects).toBe(0);
  });
});

describe('EventQueue.poll', () => {
  it('decodes every payload of a poll even when a bad table drops its sender (which pushes)', () => {
    const q = new EventQueue(nodePlatform, { capacity: 8 });
    const bad = { id: 6_000_000, dropForBadTable: (reason: string): void => q.pushText(EventType.ERROR, bad, `dropped: ${reason}`) };
    const good = { id: 6_000_001 };
    q.register(bad);
    q.register(good);
    q.push(EventType.RECEIVE, bad, Uint8Array.of(0x92, 0x01));
    q.push(EventType.RECEIVE, good, Uint8Array.of(0x81, 0xa1, 0x61, 0x01)); // {a: 1}
    const events = q.poll();
    expect(events.map((e) => e.type)).toEqual([EventType.ERROR, EventType.RECEIVE]);
    expect((events[1] as { packet: unknown }).packet).toEqual({ a: 1 });
    expect((q.poll()[0] as { error: string }).error).toMatch(/^dropped: invalid table/);
  });
});

describe('an application that never polls the global queue', () => {
  it('does not keep every connection of many connect/disconnect cycles alive', async () => {
    pollEvents();
    configureEventQueue({ capacity: 32 });
    const q = nodeContext.globalQueue();
    try {
      // 60 connects from one address in a few hundred ms: past the default per-IP connect rate.
      const server = await Server.listen('127.0.0.1', 0, undefined, { connectRatePerIp: 0 });
      servers.push(server);
      const before = q.retainedObjects;
      for (let i = 0; i < 60; i++) {
        const client = new Client('127.0.0.1', server.getPort());
        expect((await client.waitForConnect())[0]).toBe(true);
        await until(() => server.connectionCount() === 1);
        client.disconnect();
        await until(() => server.connectionCount() === 0);
      }
      // 60 cycles made 120 objects (a Client and a Connection each); without polling only those
      // with an event still in the 32-entry ring may be kept.
      expect(q.retainedObjects - before).toBeLessThanOrEqual(32);
      expect(droppedEvents()).toBeGreaterThan(0);
      await Promise.all(servers.splice(0).map((s) => s.close()));
      await sleep(20);
      pollEvents();
      // Everything of this test retired: the poll released all of it.
      expect(q.retainedObjects).toBeLessThanOrEqual(before);
    } finally {
      pollEvents();
      configureEventQueue({ capacity: 2000 });
    }
  }, 15_000);
});

describe('the queue arena', () => {
  const owner = { id: 424242 };
  it('starts at capacity × QUEUE_ARENA_BYTES_PER_ENTRY, grows for a burst without dropping, and shrinks back when polled', () => {
    const q = new EventQueue(nodePlatform);
    q.register(owner);
    expect(q.ring.arenaBytes).toBe(2000 * QUEUE_ARENA_BYTES_PER_ENTRY);
    const texts: string[] = [];
    for (let i = 0; i < 40; i++) {
      const t = `${i}:`.padEnd(100_000, String.fromCharCode(97 + (i % 26))); // 4 MB in all
      texts.push(t);
      q.pushText(EventType.ERROR, owner, t);
    }
    expect(q.dropped).toBe(0);
    expect(q.ring.arenaBytes).toBeGreaterThan(4_000_000);
    expect(q.ring.arenaBytes).toBeLessThanOrEqual(EVENT_RING_ARENA_BYTES);
    const got = q.poll().map((e) => (e as { error: string }).error);
    expect(got).toEqual(texts);
    // Still large right after the burst; the next light poll gives the pages back.
    expect(q.ring.arenaBytes).toBeGreaterThan(4_000_000);
    q.pushText(EventType.ERROR, owner, 'light');
    expect(q.poll().length).toBe(1);
    expect(q.ring.arenaBytes).toBe(2000 * QUEUE_ARENA_BYTES_PER_ENTRY);
  });

  it('queues one largest message (16 MiB) although it starts small', () => {
    const q = new EventQueue(nodePlatform, { capacity: 8 });
    q.register(owner);
    q.pushText(EventType.ERROR, owner, 'x'.repeat(16 * 1024 * 1024));
    const [e] = q.poll();
    expect((e as { error: string }).error.length).toBe(16 * 1024 * 1024);
    expect(q.dropped).toBe(0);
  });

  it('stops growing at EVENT_RING_ARENA_BYTES and then drops the oldest, as before', () => {
    const q = new EventQueue(nodePlatform, { capacity: 100 });
    q.register(owner);
    for (let i = 0; i < 10; i++) q.pushText(EventType.ERROR, owner, 'y'.repeat(4 * 1024 * 1024));
    expect(q.ring.arenaBytes).toBe(EVENT_RING_ARENA_BYTES);
    expect(q.dropped).toBeGreaterThan(0);
    expect(q.poll().length).toBe(10 - q.dropped);
  });

  it('an explicit arenaBytes fixes the size', () => {
    const q = new EventQueue(nodePlatform, { capacity: 10, arenaBytes: 1000 });
    q.register(owner);
    for (let i = 0; i < 5; i++) q.pushText(EventType.ERROR, owner, 'z'.repeat(400));
    expect(q.ring.arenaBytes).toBe(1000);
    expect(q.dropped).toBe(3);
  });
});
