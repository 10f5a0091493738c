import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventClient, type EventClientOptions } from '../../src/events/client.js';
import { EventsError } from '../../src/events/errors.js';
import { EventServer } from '../../src/events/server.js';
import { RawPeer } from './raw-peer.js';

const RETRY_MS = 60;
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

function client(options: EventClientOptions = {}): EventClient {
  const c = new EventClient({ port: 0, host: '127.0.0.1', retryTimeoutMs: RETRY_MS, maxRetries: 2, log: () => undefined, ...options });
  opened.push(c);
  return c;
}

async function fakeServer(): Promise<RawPeer> {
  const p = await RawPeer.open();
  opened.push(p);
  return p;
}

/** A client registered with a fake (raw) server. */
async function registeredWithFake(options: EventClientOptions = {}): Promise<{ c: EventClient; s: RawPeer; cport: number }> {
  const s = await fakeServer();
  const c = client(options);
  const done = c.register('127.0.0.1', s.port);
  const reg = (await s.next())!;
  expect(reg.text).toBe(`{"method": "REGISTER", "cuuid": "${c.id}"}`);
  s.send('{"method": "OK REGISTER"}', reg.from.port);
  await done;
  return { c, s, cport: reg.from.port };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const EVENT_RE = /^\{"method": "EVENT", "cuuid": "([^"]+)", "euuid": "([^"]+)", "event_data": (.*), "timestamp": "(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{6})?)", "retry": (\d+), "priority": "(normal|high)"\}$/;

describe('EventClient discovery (neteria.md §5)', () => {
  it('discovers a server by unicast on loopback and records it', async () => {
    const server = new EventServer({ port: 0, host: '127.0.0.1', serverName: 'loopsrv', log: () => undefined });
    opened.push(server);
    const { port } = await server.listen();
    const c = client();
    const found = await c.discover({ address: '127.0.0.1', port, timeout: 1000 });
    expect(found).toEqual([{ address: '127.0.0.1', port, version: '1.0.3', serverName: 'loopsrv' }]);
    expect(c.servers.get(`127.0.0.1:${port}`)).toEqual(found[0]);
  });

  it('sends OHAI in the original form (N10) and lists no server that refuses the version', async () => {
    const s = await fakeServer();
    const c = client({ id: '8332ca32-e6b4-11f1-825f-02fc00000001' });
    const found = c.discover({ address: '127.0.0.1', port: s.port, timeout: 150 });
    const ohai = (await s.next())!;
    expect(ohai.text).toBe('{"method": "OHAI", "version": "1.0.3", "cuuid": "8332ca32-e6b4-11f1-825f-02fc00000001"}');
    s.send('{"method": "BYE REGISTER"}', ohai.from.port);
    expect(await found).toEqual([]);
  });

  it('keeps at most maxDiscoveredServers answers, forgetting the least recent', async () => {
    const [a, b, d] = [await fakeServer(), await fakeServer(), await fakeServer()];
    const c = client({ maxDiscoveredServers: 2 });
    // Unicast discovery ends at a's answer; the long timeout only covers a loaded machine.
    const found = c.discover({ address: '127.0.0.1', port: a.port, timeout: 5000 });
    const ohai = (await a.next())!;
    const answer = '{"method": "OHAI Client", "version": "1.0.3", "server_name": null}';
    const answered = async (peer: RawPeer): Promise<void> => {
      peer.send(answer, ohai.from.port);
      for (let i = 0; i < 200 && !c.servers.has(`127.0.0.1:${peer.port}`); i++) await sleep(5);
    };
    await answered(b);
    await answered(d);
    await answered(a);
    expect((await found).map((x) => x.port)).toEqual([a.port]);
    expect([...c.servers.keys()]).toEqual([`127.0.0.1:${d.port}`, `127.0.0.1:${a.port}`]);
    expect(() => new EventClient({ maxDiscoveredServers: 0 })).toThrow(RangeError);
  });

  it('registers with the first server found when asked (auto-registration)', async () => {
    const server = new EventServer({ port: 0, host: '127.0.0.1', log: () => undefined });
    opened.push(server);
    const { port } = await server.listen();
    const c = client();
    await c.discover({ address: '127.0.0.1', port, register: true });
    expect(c.registered).toBe(true);
    expect(server.clients().map((x) => x.id)).toEqual([c.id]);
  });

  it('discovers by broadcast where it stays on loopback (127.255.255.255)', async (ctx) => {
    // A server bound to the loopback broadcast address receives loopback broadcasts only.
    const server = new EventServer({ port: 0, host: '127.255.255.255', log: () => undefined });
    opened.push(server);
    let port: number;
    try {
      ({ port } = await server.listen());
    } catch {
      ctx.skip();
      return;
    }
    const c = client();
    const found = await c.discover({ address: '127.255.255.255', port, timeout: 300 });
    expect(found).toEqual([expect.objectContaining({ address: '127.0.0.1', port, version: '1.0.3' })]);
  });
});

describe('EventClient with EventServer', () => {
  it('reproduces the observed end-to-end run of neteria.md §12', async () => {
    const executed: unknown[] = [];
    const server = new EventServer({
      port: 0, host: '127.0.0.1', serverName: 'loopsrv', log: () => undefined,
      middleware: { judge: (_c, _e, d) => !(d as { cheat?: boolean }).cheat, execute: (_c, _e, d) => void executed.push(d) },
    });
    opened.push(server);
    const { port } = await server.listen();
    let resolveNotify!: (data: unknown) => void;
    const notified = new Promise((r) => { resolveNotify = r; });
    const c = client({ onNotify: (data) => resolveNotify(data) });
    await c.discover({ address: '127.0.0.1', port, register: true });
    expect(await c.event({ move: 'left' })).toBe('LEGAL');
    expect(await c.event({ cheat: true })).toBe('ILLEGAL');
    expect(await c.event('KEYDOWN:up', { priority: 'high' })).toBe('LEGAL');
    server.notify(c.id, { tick: 1 });
    expect(await notified).toEqual({ tick: 1 });
    expect(executed).toEqual([{ move: 'left' }, 'KEYDOWN:up']);
    expect(c.rollbacks.map((r) => r.data)).toEqual([{ cheat: true }]);
    expect(c.confirmations.map((r) => r.data)).toEqual(['KEYDOWN:up']);
    expect([...c.notifies.values()]).toEqual([{ tick: 1 }]);
    expect(c.pending.size).toBe(0);
    await vi.waitFor(() => expect(server.stats.notifiesSent).toBe(1));
  });
});

describe('EventClient registration (§6)', () => {
  it('resends REGISTER every retry timeout and reports a timeout after maxRetries', async () => {
    const s = await fakeServer();
    const c = client();
    const err = await c.register('127.0.0.1', s.port).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventsError);
    expect((err as EventsError).code).toBe('GW_ERR_REGISTER_TIMEOUT');
    const copies = await s.collect(10);
    expect(copies).toEqual(Array(3).fill(`{"method": "REGISTER", "cuuid": "${c.id}"}`));
    expect(c.registered).toBe(false);
  });

  it('stops and reports rejection on BYE REGISTER (the original keeps retrying)', async () => {
    const s = await fakeServer();
    const c = client();
    const done = c.register('127.0.0.1', s.port);
    const reg = (await s.next())!;
    s.send('{"method": "BYE REGISTER"}', reg.from.port);
    await expect(done).rejects.toMatchObject({ code: 'GW_ERR_REGISTER_REJECTED' });
    expect(await s.collect(RETRY_MS * 2)).toEqual([]);
  });

  it('ignores OK REGISTER from another address (full address check)', async () => {
    const s = await fakeServer();
    const other = await fakeServer();
    const c = client({ maxRetries: 0 });
    const done = c.register('127.0.0.1', s.port);
    const reg = (await s.next())!;
    other.send('{"method": "OK REGISTER"}', reg.from.port);
    await expect(done).rejects.toMatchObject({ code: 'GW_ERR_REGISTER_TIMEOUT' });
    expect(c.stats.dropped).toBe(1);
  });

  it('rejects events before registration without sending', async () => {
    const c = client();
    await expect(c.event(1)).rejects.toMatchObject({ code: 'GW_ERR_NOT_REGISTERED' });
  });
});

describe('EventClient events (§7, §9, K2, K3)', () => {
  it('sends EVENT in the original form, resolves LEGAL and acks with OK EVENT (N12, N13)', async () => {
    const onLegal = vi.fn();
    const { c, s, cport } = await registeredWithFake({ onLegal });
    const verdict = c.event({ move: 'left' });
    const m = EVENT_RE.exec(await s.text())!;
    expect(m).not.toBeNull();
    expect([m[1], m[3], m[5], m[6]]).toEqual([c.id, '{"move": "left"}', '0', 'normal']);
    expect(c.pending.get(m[2]!)).toMatchObject({ data: { move: 'left' }, priority: 'normal' });
    s.send(`{"method": "LEGAL", "euuid": "${m[2]}", "priority": "normal"}`, cport);
    expect(await verdict).toBe('LEGAL');
    expect(await s.text()).toBe(`{"cuuid": "${c.id}", "method": "OK EVENT", "euuid": "${m[2]}"}`);
    expect(onLegal).toHaveBeenCalledWith(expect.objectContaining({ id: m[2], data: { move: 'left' } }));
    // §7.2 observed: a LEGAL normal event ends in no collection.
    expect([c.pending.size, c.rollbacks.length, c.confirmations.length]).toEqual([0, 0, 0]);
  });

  it('puts a high-priority LEGAL in confirmations and any ILLEGAL in rollbacks, calling onIllegal', async () => {
    const onIllegal = vi.fn();
    const { c, s, cport } = await registeredWithFake({ onIllegal });
    const high = c.event('KEYDOWN:up', { priority: 'high' });
    const h = EVENT_RE.exec(await s.text())!;
    expect(h[6]).toBe('high');
    s.send(`{"method": "LEGAL", "euuid": "${h[2]}", "priority": "high"}`, cport);
    expect(await high).toBe('LEGAL');
    await s.text();
    const cheat = c.event({ cheat: true }, { priority: 'high' });
    const x = EVENT_RE.exec(await s.text())!;
    s.send(`{"method": "ILLEGAL", "euuid": "${x[2]}", "priority": "high"}`, cport);
    expect(await cheat).toBe('ILLEGAL');
    expect(c.confirmations.map((e) => e.data)).toEqual(['KEYDOWN:up']);
    expect(c.rollbacks).toEqual([expect.objectContaining({ id: x[2], data: { cheat: true }, reason: 'illegal' })]);
    expect(onIllegal).toHaveBeenCalledTimes(1);
    expect(c.takeRollbacks()).toHaveLength(1);
    expect(c.rollbacks).toHaveLength(0);
    expect(c.takeConfirmations()).toHaveLength(1);
  });

  it('resends EVENT with the same id and fields and retry incremented, then times out (K2)', async () => {
    const onTimeout = vi.fn();
    const { c, s } = await registeredWithFake({ onTimeout });
    const t0 = Date.now();
    const verdict = c.event([1, 2], { priority: 'high' });
    const copies = [await s.text(), await s.text(), await s.text()];
    const err = await verdict.catch((e: unknown) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3 * RETRY_MS - 10);
    expect((err as EventsError).code).toBe('GW_ERR_EVENT_TIMEOUT');
    const parsed = copies.map((t) => EVENT_RE.exec(t)!);
    expect(parsed.map((p) => p[5])).toEqual(['0', '1', '2']);
    expect(new Set(parsed.map((p) => `${p[2]}|${p[3]}|${p[4]}|${p[6]}`)).size).toBe(1);
    expect(onTimeout).toHaveBeenCalledTimes(1);
    expect(c.rollbacks).toEqual([expect.objectContaining({ data: [1, 2], reason: 'timeout', retries: 2 })]);
    expect(c.pending.size).toBe(0);
    expect(await s.collect(RETRY_MS * 2)).toEqual([]);
  });

  it('acks every judgement, duplicates and unknown ids included, without crashing (K3)', async () => {
    const onIllegal = vi.fn();
    const { c, s, cport } = await registeredWithFake({ onIllegal });
    const verdict = c.event(1, { priority: 'high' });
    const m = EVENT_RE.exec(await s.text())!;
    const illegal = `{"method": "ILLEGAL", "euuid": "${m[2]}", "priority": "high"}`;
    s.send(illegal, cport);
    s.send(illegal, cport);
    s.send('{"method": "LEGAL", "euuid": "unknown", "priority": "high"}', cport);
    s.send('{"method":"ILLEGAL","euuid":"unknown2"}', cport);
    expect(await verdict).toBe('ILLEGAL');
    const acks = [await s.text(), await s.text(), await s.text(), await s.text()];
    expect(acks).toEqual([
      `{"cuuid": "${c.id}", "method": "OK EVENT", "euuid": "${m[2]}"}`,
      `{"cuuid": "${c.id}", "method": "OK EVENT", "euuid": "${m[2]}"}`,
      `{"cuuid": "${c.id}", "method": "OK EVENT", "euuid": "unknown"}`,
      `{"cuuid": "${c.id}", "method": "OK EVENT", "euuid": "unknown2"}`,
    ]);
    expect(onIllegal).toHaveBeenCalledTimes(1);
    expect(c.rollbacks).toHaveLength(1);
    expect(c.stats.lateJudgements).toBe(3);
  });

  it('on BYE EVENT refuses every pending event and reports it', async () => {
    const onNotRegistered = vi.fn();
    const { c, s, cport } = await registeredWithFake({ onNotRegistered });
    const a = c.event('a');
    const b = c.event('b', { priority: 'high' });
    await s.text();
    await s.text();
    s.send('{"method": "BYE EVENT", "data": "Not registered"}', cport);
    await expect(a).rejects.toMatchObject({ code: 'GW_ERR_NOT_REGISTERED' });
    await expect(b).rejects.toMatchObject({ code: 'GW_ERR_NOT_REGISTERED' });
    expect(c.registered).toBe(false);
    expect(c.rollbacks.map((r) => [r.data, r.reason])).toEqual([['a', 'not-registered'], ['b', 'not-registered']]);
    expect(onNotRegistered).toHaveBeenCalledTimes(1);
    expect(await s.collect(RETRY_MS * 2)).toEqual([]);
  });

  it('refuses misuse: unserialisable data, oversize, bad priority, too many pending', async () => {
    const { c, s } = await registeredWithFake({ maxPendingEvents: 1 });
    expect(() => c.event(undefined)).toThrow(TypeError);
    expect(() => c.event(NaN)).toThrow(TypeError);
    expect(() => c.event('x'.repeat(10240))).toThrow(RangeError);
    expect(() => c.event(1, { priority: 'urgent' as 'high' })).toThrow(TypeError);
    void c.event(1);
    await expect(c.event(2)).rejects.toMatchObject({ code: 'GW_ERR_TOO_MANY_PENDING' });
    await s.text();
  });

  it('rejects pending events with GW_ERR_CLOSED on close()', async () => {
    const { c, s } = await registeredWithFake();
    const p = c.event(1);
    await s.text();
    await c.close();
    await expect(p).rejects.toMatchObject({ code: 'GW_ERR_CLOSED' });
    await expect(c.event(1)).rejects.toMatchObject({ code: 'GW_ERR_CLOSED' });
    await expect(c.register('127.0.0.1', s.port)).rejects.toMatchObject({ code: 'GW_ERR_CLOSED' });
  });
});

describe('EventClient notifications (§8)', () => {
  it('stores and delivers each NOTIFY once and acks every copy (N6, N15)', async () => {
    const onNotify = vi.fn();
    const { c, s, cport } = await registeredWithFake({ onNotify });
    const n = '{"method": "NOTIFY", "event_data": {"name": "h\\u00e9llo"}, "euuid": "x"}';
    s.send(n, cport);
    s.send(n, cport);
    s.send('{"method": "NOTIFY", "event_data": {"tick": 1}, "euuid": "y"}', cport);
    const acks = [await s.text(), await s.text(), await s.text()];
    expect(acks).toEqual([
      `{"cuuid": "${c.id}", "method": "OK NOTIFY", "euuid": "x"}`,
      `{"cuuid": "${c.id}", "method": "OK NOTIFY", "euuid": "x"}`,
      `{"cuuid": "${c.id}", "method": "OK NOTIFY", "euuid": "y"}`,
    ]);
    expect(onNotify.mock.calls).toEqual([[{ name: 'héllo' }, 'x'], [{ tick: 1 }, 'y']]);
    expect([...c.takeNotifies()]).toEqual([['x', { name: 'héllo' }], ['y', { tick: 1 }]]);
    s.send(n, cport); // taken, but still remembered: not delivered again
    await s.text();
    expect(onNotify).toHaveBeenCalledTimes(2);
    expect(c.notifies.size).toBe(0);
  });

  it('bounds the collections, counting what it drops', async () => {
    const { c, s, cport } = await registeredWithFake({ maxRecords: 2, notifyDedupWindow: 3 });
    for (const id of ['a', 'b', 'c', 'd']) s.send(`{"method": "NOTIFY", "event_data": 1, "euuid": "${id}"}`, cport);
    for (let i = 0; i < 4; i++) await s.text();
    expect([...c.notifies.keys()]).toEqual(['c', 'd']);
    expect(c.stats.recordsDropped).toBe(2);
  });
});

describe('EventClient hostile input', () => {
  it('drops garbage and datagrams from strangers, keeps working, and survives throwing callbacks', async () => {
    const { c, s, cport } = await registeredWithFake({ onNotify: () => { throw new Error('app bug'); } });
    const stranger = await fakeServer();
    for (const g of ['not json at all', '{"method": "LEGAL"}', '[]', '{"method": "NOTIFY", "euuid": "z"}', 'x'.repeat(10241)]) s.send(g, cport);
    stranger.send('{"method": "NOTIFY", "event_data": 1, "euuid": "evil"}', cport);
    stranger.send('{"method": "BYE EVENT", "data": "Not registered"}', cport);
    await sleep(100);
    expect(c.stats.dropped).toBe(7);
    expect(c.registered).toBe(true);
    expect(await stranger.next(10)).toBeUndefined();
    s.send('{"method": "NOTIFY", "event_data": 1, "euuid": "ok"}', cport);
    expect(await s.text()).toContain('"OK NOTIFY"');
    expect(c.notifies.has('ok')).toBe(true);
  });

  it('drops a judgement or NOTIFY whose ack would exceed 10240 bytes', async () => {
    const { c, s, cport } = await registeredWithFake();
    const id = '\u00e9'.repeat(2000);
    s.send(`{"method": "LEGAL", "euuid": "${id}", "priority": "normal"}`, cport);
    s.send(`{"method": "NOTIFY", "event_data": 1, "euuid": "${id}"}`, cport);
    expect(await s.next(100)).toBeUndefined();
    expect(c.stats.dropped).toBe(2);
    expect(c.notifies.size).toBe(0);
  });

  it('refuses bad options', () => {
    expect(() => new EventClient({ port: -1 })).toThrow(RangeError);
    expect(() => new EventClient({ maxRetries: 1.5 })).toThrow(RangeError);
    expect(() => new EventClient({ retryTimeoutMs: NaN })).toThrow(RangeError);
  });
});

