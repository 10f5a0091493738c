import { afterEach, describe, expect, it } from 'vitest';
import { Bag, record, serverBehindProxy, until } from './harness.js';

const bag = new Bag();
afterEach(() => bag.close());

async function connected(seed: number, clientOptions = {}, serverOptions = {}) {
  const { server, proxy } = await serverBehindProxy(bag, serverOptions, { seed });
  const slog = record(server);
  const client = bag.pipe(clientOptions);
  const clog = record(client);
  const session = client.connect('127.0.0.1', proxy.port);
  await until(() => session.open && server.clients.length === 1, 3000, 'connect');
  return { server, proxy, slog, client, clog, session, sc: server.clients[0]! };
}

const messages = (log: unknown[][]): unknown[] => log.filter((r) => r[0] === 'message').map((r) => r[1]);

describe('stall and recovery', () => {
  it('stalls both sides in a blackout, queues sends, and flushes them in order on recovery', async () => {
    const { server, proxy, slog, client, clog, session, sc } = await connected(11);
    proxy.set({ loss: 1 });
    await until(() => session.stalled && sc.stalled, 2000, 'stall');
    expect(clog.filter((r) => r[0] === 'stalled').length).toBe(1);
    expect(slog.filter((r) => r[0] === 'stalled').length).toBe(1);
    for (const m of ['a', 'b', 'c']) expect(client.send(m)).toBe(true);
    server.send('from server', sc);
    expect(session.queued).toBe(3);
    expect(sc.queued).toBe(1);
    proxy.set({ loss: 0 });
    await until(() => !session.stalled && !sc.stalled, 2000, 'unstall');
    const unstalled = clog.find((r) => r[0] === 'unstalled')!;
    expect(unstalled[1]).toBe(3);
    await until(() => messages(slog).length === 3 && messages(clog).length === 1);
    expect(messages(slog)).toEqual(['a', 'b', 'c']);
    expect(messages(clog)).toEqual(['from server']);
    expect(session.queued).toBe(0);
    expect(session.queueDropped).toBe(0);
    // stalled comes before unstalled, and neither side disconnected
    const order = clog.map((r) => r[0]).filter((n) => n === 'stalled' || n === 'unstalled' || n === 'disconnect');
    expect(order).toEqual(['stalled', 'unstalled']);
  });

  it('bounds the queue by count, dropping the oldest and counting them', async () => {
    const { slog, proxy, client, session } = await connected(12, { maxQueueCount: 3 });
    proxy.set({ loss: 1 });
    await until(() => session.stalled, 2000, 'stall');
    for (let i = 0; i < 5; i++) client.send(`m${i}`);
    expect(session.queued).toBe(3);
    expect(session.queueDropped).toBe(2);
    expect(client.stats().queueDropped).toBe(2);
    proxy.set({ loss: 0 });
    await until(() => messages(slog).length === 3, 2000, 'flush');
    expect(messages(slog)).toEqual(['m2', 'm3', 'm4']);
  });

  it('bounds the queue by bytes', async () => {
    const { slog, proxy, client, session } = await connected(13, { maxQueueBytes: 1200, maxDatagramBytes: 500 });
    proxy.set({ loss: 1 });
    await until(() => session.stalled, 2000, 'stall');
    client.send('a'.repeat(500));
    client.send('b'.repeat(500));
    client.send('c'.repeat(500));
    expect(session.queued).toBe(2);
    expect(session.queueDropped).toBe(1);
    proxy.set({ loss: 0 });
    await until(() => messages(slog).length === 2, 2000, 'flush');
    expect(messages(slog).map((m) => (m as string)[0])).toEqual(['b', 'c']);
  });

  it('disconnects both sides after the disconnect timeout, dropping the queue', async () => {
    const { server, proxy, slog, client, clog, session } = await connected(14);
    proxy.set({ loss: 1 });
    await until(() => session.stalled, 2000, 'stall');
    client.send('lost');
    await until(() => clog.some((r) => r[0] === 'disconnect') && slog.some((r) => r[0] === 'disconnect'), 3000, 'disconnect');
    expect(clog.find((r) => r[0] === 'disconnect')![1]).toBe('timeout');
    expect(slog.find((r) => r[0] === 'disconnect')![1]).toBe('timeout');
    expect(session.state).toBe('closed');
    expect(session.queueDropped).toBe(1);
    expect(server.clients.length).toBe(0);
    expect(client.send('late')).toBe(false);
  });

  it('keeps a session alive through 20% loss with jitter (no stall at these timers)', async () => {
    const { server, proxy } = await serverBehindProxy(bag, {}, { seed: 15 });
    const client = bag.pipe();
    const clog = record(client);
    client.connect('127.0.0.1', proxy.port);
    await until(() => server.clients.length === 1);
    proxy.set({ loss: 0.2, jitterMs: 10, duplicate: 0.1, reorder: 0.1 });
    await new Promise((r) => setTimeout(r, 600));
    expect(clog.some((r) => r[0] === 'disconnect')).toBe(false);
    expect(client.session!.open).toBe(true);
  });
});
