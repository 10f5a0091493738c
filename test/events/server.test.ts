import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventServer, type EventServerOptions } from '../../src/events/server.js';
import { RawPeer } from './raw-peer.js';

const C = '8332ca32-e6b4-11f1-825f-02fc00000001';
const TS = '2026-11-22 20:37:19.588732';
const RETRY_MS = 60;

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

async function serve(options: EventServerOptions = {}): Promise<{ server: EventServer; port: number }> {
  const server = new EventServer({ port: 0, host: '127.0.0.1', retryTimeoutMs: RETRY_MS, maxRetries: 2, log: () => undefined, ...options });
  opened.push(server);
  const { port } = await server.listen();
  return { server, port };
}

async function peer(): Promise<RawPeer> {
  const p = await RawPeer.open();
  opened.push(p);
  return p;
}

function eventText(euuid: string, data: string, retry = 0, priority = 'normal', cuuid = C): string {
  return `{"method": "EVENT", "cuuid": "${cuuid}", "euuid": "${euuid}", "event_data": ${data}, "timestamp": "${TS}", "retry": ${retry}, "priority": "${priority}"}`;
}

async function registered(port: number, cuuid = C): Promise<RawPeer> {
  const p = await peer();
  p.send(`{"method": "REGISTER", "cuuid": "${cuuid}"}`, port);
  expect(await p.text()).toBe('{"method": "OK REGISTER"}');
  return p;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Registered, and proven: one verdict received and acknowledged (resends go only to such clients). */
async function proven(port: number, cuuid = C): Promise<RawPeer> {
  const p = await registered(port, cuuid);
  p.send(eventText('proof', '0', 0, 'normal', cuuid), port);
  expect(await p.text()).toContain('"euuid": "proof"');
  p.send(`{"cuuid": "${cuuid}", "method": "OK EVENT", "euuid": "proof"}`, port);
  await sleep(20);
  return p;
}

describe('EventServer discovery (neteria.md §5)', () => {
  it('answers OHAI 1.0.3 with OHAI Client (N14, N2) and other versions with BYE REGISTER (N1)', async () => {
    const { port } = await serve();
    const p = await peer();
    p.send(`{"method": "OHAI", "version": "1.0.3", "cuuid": "${C}"}`, port);
    expect(await p.text()).toBe('{"method": "OHAI Client", "version": "1.0.3", "server_name": null}');
    p.send(`{"method": "OHAI", "version": "0.9", "cuuid": "${C}"}`, port);
    expect(await p.text()).toBe('{"method": "BYE REGISTER"}');
    const named = await serve({ serverName: 'loopsrv' });
    // A 49-byte OHAI cannot draw a 73-byte answer (issue 14 item 4): the second one pays for it.
    p.send(`{"method":"OHAI","version":"1.0.3","cuuid":"x"}`, named.port);
    expect(await p.next(100)).toBeUndefined();
    p.send(`{"method":"OHAI","version":"1.0.3","cuuid":"x"}`, named.port);
    expect(await p.text()).toBe('{"method": "OHAI Client", "version": "1.0.3", "server_name": "loopsrv"}');
    expect(named.server.stats.repliesWithheld).toBe(1);
  });

  it('stays silent when not discoverable', async () => {
    const { port } = await serve({ discoverable: false });
    const p = await peer();
    p.send(`{"method": "OHAI", "version": "1.0.3", "cuuid": "${C}"}`, port);
    expect(await p.next(150)).toBeUndefined();
  });
});

describe('EventServer registration (§6, K5, K7)', () => {
  it('answers REGISTER with OK REGISTER (N4) and lists the client with its address', async () => {
    const onRegister = vi.fn();
    const { server, port } = await serve({ onRegister });
    const p = await registered(port);
    expect(server.clients()).toEqual([expect.objectContaining({ id: C, address: '127.0.0.1', port: p.port })]);
    expect(onRegister).toHaveBeenCalledWith(expect.objectContaining({ id: C }), false);
  });

  it('admits exactly registrationLimit clients, and re-registration even when full', async () => {
    const { server, port } = await serve({ registrationLimit: 3 });
    const peers = [];
    for (let i = 0; i < 3; i++) peers.push(await registered(port, `c${i}`));
    const extra = await peer();
    extra.send('{"method": "REGISTER", "cuuid": "c3"}', port);
    expect(await extra.text()).toBe('{"method": "BYE REGISTER"}');
    expect(server.clients()).toHaveLength(3);
    expect(server.stats.registrationsRejected).toBe(1);
    peers[0]!.send('{"method": "REGISTER", "cuuid": "c0"}', port);
    expect(await peers[0]!.text()).toBe('{"method": "OK REGISTER"}');
    expect(server.clients()).toHaveLength(3);
  });

  it('refuses a REGISTER that offers encryption (§10)', async () => {
    const { server, port } = await serve();
    const p = await peer();
    p.send(`{"method": "REGISTER", "cuuid": "${C}", "encryption": [3, 65537]}`, port);
    expect(await p.text()).toBe('{"method": "BYE REGISTER"}');
    expect(server.clients()).toEqual([]);
  });

  it('expires a registration after registrationIdleMs of silence, then answers EVENT with BYE EVENT (K5)', async () => {
    const onExpire = vi.fn();
    const judge = vi.fn(() => true);
    const { server, port } = await serve({ registrationIdleMs: 300, onExpire, middleware: { judge } });
    const p = await registered(port);
    // Activity keeps it alive: any valid datagram from the registered address.
    for (let i = 0; i < 3; i++) {
      await sleep(80);
      p.send(`{"cuuid": "${C}", "method": "OK EVENT", "euuid": "none"}`, port);
    }
    expect(server.clients()).toHaveLength(1);
    await vi.waitFor(() => expect(onExpire).toHaveBeenCalled(), { timeout: 2000, interval: 50 });
    expect(onExpire).toHaveBeenCalledWith(expect.objectContaining({ id: C }));
    expect(server.clients()).toEqual([]);
    p.send(eventText('e1', '1'), port);
    expect(await p.text()).toBe('{"method": "BYE EVENT", "data": "Not registered"}');
    expect(judge).not.toHaveBeenCalled();
    expect(server.stats.expired).toBe(1);
  });

  it('makes room for a new client when an idle one expired', async () => {
    const { server, port } = await serve({ registrationLimit: 1, registrationIdleMs: 60 });
    await registered(port, 'old');
    await sleep(120);
    await registered(port, 'new');
    expect(server.clients().map((c) => c.id)).toEqual(['new']);
  });
});

describe('EventServer events (§7, §9, K1, K4)', () => {
  it('answers EVENT from an unknown cuuid with BYE EVENT (N3)', async () => {
    const { port } = await serve();
    const p = await peer();
    p.send(eventText('e1', '{"move": "left"}'), port);
    expect(await p.text()).toBe('{"method": "BYE EVENT", "data": "Not registered"}');
  });

  it('judges LEGAL (N5), executes once after it, and stops resending on OK EVENT (N9)', async () => {
    const order: string[] = [];
    const judge = vi.fn((_c: string, _e: string, d: unknown) => { order.push('judge'); return (d as { move: string }).move === 'left'; });
    const execute = vi.fn(() => { order.push('execute'); });
    const { server, port } = await serve({ middleware: { judge, execute } });
    const p = await registered(port);
    p.send(eventText('e1', '{"move": "left"}'), port);
    expect(await p.text()).toBe('{"method": "LEGAL", "euuid": "e1", "priority": "normal"}');
    expect(judge).toHaveBeenCalledWith(C, 'e1', { move: 'left' });
    expect(order).toEqual(['judge', 'execute']);
    p.send(`{"cuuid": "${C}", "method": "OK EVENT", "euuid": "e1"}`, port);
    expect(await p.collect(RETRY_MS * 4)).toEqual([]);
    expect(server.stats).toMatchObject({ judged: 1, legal: 1, judgementResends: 0 });
  });

  it('judges ILLEGAL and echoes the priority; an ILLEGAL event is not executed', async () => {
    const execute = vi.fn();
    const { port } = await serve({ middleware: { judge: () => false, execute } });
    const p = await registered(port);
    p.send(eventText('e2', '{"cheat": true}', 0, 'high'), port);
    expect(await p.text()).toBe('{"method": "ILLEGAL", "euuid": "e2", "priority": "high"}');
    expect(execute).not.toHaveBeenCalled();
  });

  it('resends an unacknowledged judgement maxRetries times, identical bytes, then forgets it', async () => {
    const { server, port } = await serve({ maxRetries: 3 });
    const p = await proven(port);
    const t0 = Date.now();
    p.send(eventText('e1', '1'), port);
    const first = await p.text();
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      expect(await p.text()).toBe(first);
      times.push(Date.now() - t0);
    }
    expect(await p.next(RETRY_MS * 3)).toBeUndefined();
    expect(times[0]).toBeGreaterThanOrEqual(RETRY_MS - 5);
    expect(times[2]).toBeGreaterThanOrEqual(3 * RETRY_MS - 15);
    expect(server.stats).toMatchObject({ judgementResends: 3, judgementsUnacked: 1 });
  });

  it('answers a duplicate EVENT with the stored judgement and never judges or executes it again (N8, K1)', async () => {
    const judge = vi.fn(() => true);
    const execute = vi.fn();
    const { server, port } = await serve({ middleware: { judge, execute } });
    const p = await registered(port);
    p.send(eventText('e1', '{"move": "left"}'), port);
    const legal = '{"method": "LEGAL", "euuid": "e1", "priority": "normal"}';
    expect(await p.text()).toBe(legal);
    p.send(eventText('e1', '{"move": "left"}', 1), port); // N8: while pending
    expect(await p.text()).toBe(legal);
    p.send(`{"cuuid": "${C}", "method": "OK EVENT", "euuid": "e1"}`, port);
    await sleep(RETRY_MS * 4); // acknowledged and past every retry: the original would forget it
    p.send(eventText('e1', '{"move": "left"}', 4), port);
    expect(await p.text()).toBe(legal);
    expect(await p.collect(RETRY_MS * 2)).toEqual([]);
    expect(judge).toHaveBeenCalledTimes(1);
    expect(execute).toHaveBeenCalledTimes(1);
    expect(server.stats.duplicates).toBe(2);
  });

  it('judges asynchronously; a duplicate during judging is not judged again', async () => {
    let release!: (v: boolean) => void;
    const judge = vi.fn(() => new Promise<boolean>((r) => { release = r; }));
    const { port } = await serve({ middleware: { judge } });
    const p = await registered(port);
    p.send(eventText('e1', '1'), port);
    await sleep(30);
    p.send(eventText('e1', '1', 1), port);
    expect(await p.next(50)).toBeUndefined();
    release(false);
    expect(await p.text()).toBe('{"method": "ILLEGAL", "euuid": "e1", "priority": "normal"}');
    expect(judge).toHaveBeenCalledTimes(1);
  });

  it('judges ILLEGAL when judge throws or rejects, reports it, and keeps serving', async () => {
    const onError = vi.fn();
    const { port } = await serve({
      onError,
      middleware: {
        judge: (_c, e) => {
          if (e === 'throw') throw new Error('boom');
          if (e === 'reject') return Promise.reject(new Error('async boom'));
          return true;
        },
        execute: () => { throw new Error('execute boom'); },
      },
    });
    const p = await registered(port);
    p.send(eventText('throw', '1'), port);
    expect(await p.text()).toContain('"ILLEGAL", "euuid": "throw"');
    p.send(eventText('reject', '1'), port);
    expect(await p.text()).toContain('"ILLEGAL", "euuid": "reject"');
    p.send(eventText('ok', '1'), port);
    expect(await p.text()).toContain('"LEGAL", "euuid": "ok"');
    expect(onError).toHaveBeenCalledTimes(3);
  });

  it('requires the registered IP and port: the same cuuid from another port gets BYE EVENT (K4)', async () => {
    const judge = vi.fn(() => true);
    const { port } = await serve({ middleware: { judge } });
    await registered(port);
    const intruder = await peer();
    intruder.send(eventText('e1', '1'), port);
    expect(await intruder.text()).toBe('{"method": "BYE EVENT", "data": "Not registered"}');
    intruder.send(`{"cuuid": "${C}", "method": "OK EVENT", "euuid": "e1"}`, port);
    expect(await intruder.next(80)).toBeUndefined();
    expect(judge).not.toHaveBeenCalled();
  });

  it('moves a client that re-registers from a new port; the old port is refused', async () => {
    const { server, port } = await serve();
    const old = await registered(port);
    const moved = await registered(port);
    expect(server.clients()[0]!.port).toBe(moved.port);
    old.send(eventText('e1', '1'), port);
    expect(await old.text()).toBe('{"method": "BYE EVENT", "data": "Not registered"}');
    moved.send(eventText('e1', '1'), port);
    expect(await moved.text()).toContain('"LEGAL"');
  });

  it('bounds the window of recent ids: past it, new events are dropped without reply', async () => {
    const { server, port } = await serve({ recentEventWindow: 2, judgedRetentionMs: 60_000 });
    const p = await registered(port);
    for (const id of ['a', 'b']) {
      p.send(eventText(id, '1'), port);
      expect(await p.text()).toContain(`"euuid": "${id}"`);
      p.send(`{"cuuid": "${C}", "method": "OK EVENT", "euuid": "${id}"}`, port);
    }
    p.send(eventText('c', '1'), port);
    expect(await p.next(100)).toBeUndefined();
    expect(server.stats.windowFull).toBe(1);
    p.send(eventText('a', '1', 1), port); // still remembered
    expect(await p.text()).toContain('"euuid": "a"');
  });

  it('forgets judged ids after judgedRetentionMs once acknowledged, freeing the window', async () => {
    const { server, port } = await serve({ recentEventWindow: 1, judgedRetentionMs: 50 });
    const p = await registered(port);
    p.send(eventText('a', '1'), port);
    await p.text();
    p.send(`{"cuuid": "${C}", "method": "OK EVENT", "euuid": "a"}`, port);
    await sleep(100);
    p.send(eventText('b', '1'), port);
    expect(await p.text()).toContain('"euuid": "b"');
    expect(server.stats.windowFull).toBe(0);
  });
});

describe('EventServer notifications (§8)', () => {
  it('sends NOTIFY (N6 shape) to the registered address and stops on OK NOTIFY', async () => {
    const delivered = vi.fn();
    const { server, port } = await serve({ onNotifyDelivered: delivered });
    const p = await registered(port);
    const id = server.notify(C, { tick: 1 })!;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await p.text()).toBe(`{"method": "NOTIFY", "event_data": {"tick": 1}, "euuid": "${id}"}`);
    p.send(`{"cuuid": "${C}", "method": "OK NOTIFY", "euuid": "${id}"}`, port);
    expect(await p.collect(RETRY_MS * 3)).toEqual([]);
    expect(delivered).toHaveBeenCalledWith(C, id, { tick: 1 });
  });

  it('resends NOTIFY maxRetries times, then reports it undelivered (K2)', async () => {
    const failed = vi.fn();
    const { server, port } = await serve({ onNotifyFailed: failed });
    const p = await proven(port);
    const id = server.notify(C, { name: 'h\u00e9llo' });
    const copies = await p.collect(RETRY_MS * 4);
    expect(copies).toEqual(Array(3).fill(`{"method": "NOTIFY", "event_data": {"name": "h\\u00e9llo"}, "euuid": "${id}"}`));
    expect(failed).toHaveBeenCalledWith(C, id, { name: 'héllo' });
    expect(server.stats).toMatchObject({ notifiesSent: 1, notifyResends: 2, notifiesFailed: 1 });
  });

  it('returns null for an unknown client and refuses misuse', async () => {
    const { server, port } = await serve({ maxPendingNotifies: 1 });
    await registered(port);
    expect(server.notify('nobody', 1)).toBeNull();
    expect(() => server.notify(C, 'x'.repeat(10240))).toThrow(RangeError);
    expect(() => server.notify(C, NaN)).toThrow(TypeError);
    server.notify(C, 1);
    expect(() => server.notify(C, 2)).toThrow(RangeError);
  });
});

describe('EventServer hostile input (§1, K8)', () => {
  it('drops garbage without reply, logs it, and keeps serving', async () => {
    const lines: string[] = [];
    const { server, port } = await serve({ log: (l) => lines.push(l) });
    const p = await peer();
    const garbage: Array<string | Uint8Array> = [
      'not json at all',
      Uint8Array.from([0xff, 0xfe, 0x00]),
      '[1, 2]',
      '{"method": 7}',
      '{"method": "REGISTER"}',
      `{"method": "EVENT", "cuuid": "${C}"}`,
      '{"method": "AUTH", "cuuid": "c", "euuid": "e", "event_data": 1, "timestamp": "t", "retry": 0, "priority": "normal"}',
      '{"method": "OK NOTIFY", "cuuid": "c", "euuid": "x"}',
      Buffer.alloc(10241, 0x20),
      '',
    ];
    for (const g of garbage) p.send(g, port);
    expect(await p.next(150)).toBeUndefined();
    expect(server.stats.dropped).toBe(garbage.length);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.startsWith('dropped datagram from 127.0.0.1:'))).toBe(true);
    const q = await registered(port);
    q.send(eventText('e1', '1'), port);
    expect(await q.text()).toContain('"LEGAL"');
  });

  it('drops, unjudged, an EVENT whose judgement would exceed 10240 bytes once escaped', async () => {
    const judge = vi.fn(() => true);
    const { server, port } = await serve({ middleware: { judge } });
    const p = await registered(port);
    const id = '\u00e9'.repeat(2000); // 4000 bytes in, 12000 bytes escaped
    p.send(eventText(id, '1'), port);
    expect(await p.next(100)).toBeUndefined();
    expect(judge).not.toHaveBeenCalled();
    expect(server.stats.dropped).toBe(1);
  });

  it('keeps serving when an application callback throws', async () => {
    const { port } = await serve({ onRegister: () => { throw new Error('app bug'); } });
    await registered(port);
    await registered(port, 'other');
  });

  it('refuses bad options and a second listen()', async () => {
    expect(() => new EventServer({ port: 70000 })).toThrow(RangeError);
    expect(() => new EventServer({ retryTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => new EventServer({ registrationLimit: 0 })).toThrow(RangeError);
    const { server } = await serve();
    await expect(server.listen()).rejects.toThrow(Error);
  });
});
