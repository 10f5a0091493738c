/**
 * Issue 14 items 3 and 4: one address cannot own the EventServer's registry, and the server
 * never sends an address more bytes than it received from it. Attackers use their own loopback
 * addresses (127.0.0.50 and up); a good EventClient on 127.0.0.1 registers and gets its verdicts
 * throughout. Bytes are counted at the attacker's socket.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import dgram from 'node:dgram';
import { EventClient } from '../../src/events/client.js';
import { EventServer, type EventServerOptions } from '../../src/events/server.js';
import { MAX_REGISTRATIONS_PER_IP_COUNT, OHAI_REPLY_BURST_COUNT } from '../../src/events/limits.js';

const RETRY_MS = 50;
const TS = '2026-11-22 20:37:19.588732';
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function serve(options: EventServerOptions = {}): Promise<{ server: EventServer; port: number }> {
  const server = new EventServer({ port: 0, host: '127.0.0.1', retryTimeoutMs: RETRY_MS, log: () => undefined, ...options });
  opened.push(server);
  const { port } = await server.listen();
  return { server, port };
}

/** A UDP socket bound to `ip` that counts bytes each way. */
class Peer {
  bytesIn = 0;
  bytesOut = 0;
  readonly got: string[] = [];
  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (m) => {
      this.bytesIn += m.length;
      this.got.push(m.toString());
    });
  }

  static open(ip = '127.0.0.1'): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, ip, () => {
        const p = new Peer(s);
        opened.push(p);
        resolve(p);
      });
    });
  }

  send(text: string, port: number): void {
    this.bytesOut += Buffer.byteLength(text);
    this.socket.send(text, port, '127.0.0.1');
  }

  async until(cond: () => boolean, ms = 1000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`not met in time; got ${JSON.stringify(this.got.slice(-3))}`);
      await sleep(2);
    }
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

const register = (cuuid: string): string => `{"method": "REGISTER", "cuuid": "${cuuid}"}`;
const event = (cuuid: string, euuid: string, data = '{"move": "left"}'): string =>
  `{"method": "EVENT", "cuuid": "${cuuid}", "euuid": "${euuid}", "event_data": ${data}, "timestamp": "${TS}", "retry": 0, "priority": "normal"}`;

/** The good client: registers and has one event judged. */
async function goodClientServed(port: number): Promise<EventClient> {
  const client = new EventClient({ port: 0, host: '127.0.0.1', retryTimeoutMs: RETRY_MS, log: () => undefined });
  opened.push(client);
  await client.register('127.0.0.1', port);
  expect(await client.event({ good: 1 })).toBe('LEGAL');
  return client;
}

describe('EventServer registry: no single address owns it (issue 14 item 3)', () => {
  it('60 REGISTERs with different ids from one socket hold one slot; a good client registers (defaults)', async () => {
    const expired = vi.fn();
    const { server, port } = await serve({ onExpire: expired });
    const attacker = await Peer.open('127.0.0.50');
    for (let i = 0; i < 60; i++) attacker.send(register(`attacker-${String(i).padStart(3, '0')}-4e6f-8d3a-000000000000`), port);
    await attacker.until(() => attacker.got.length === 60);
    expect(attacker.got.every((t) => t === '{"method": "OK REGISTER"}')).toBe(true);
    // Each replaced the one before it at the same address.
    expect(server.clients().map((c) => c.id)).toEqual(['attacker-059-4e6f-8d3a-000000000000']);
    expect(server.stats.evicted).toBe(59);
    expect(expired).toHaveBeenCalledTimes(59);
    await goodClientServed(port);
    expect(server.clients()).toHaveLength(2);
  });

  it('caps registrations per IP: sockets past the cap get BYE REGISTER; a good client on another IP registers', async () => {
    const { server, port } = await serve();
    const sockets = await Promise.all(Array.from({ length: MAX_REGISTRATIONS_PER_IP_COUNT + 5 }, () => Peer.open('127.0.0.51')));
    sockets.forEach((p, i) => p.send(register(`ip-cap-${i}`), port));
    for (const p of sockets) await p.until(() => p.got.length === 1);
    const answers = sockets.map((p) => p.got[0]);
    expect(answers.filter((t) => t === '{"method": "OK REGISTER"}')).toHaveLength(MAX_REGISTRATIONS_PER_IP_COUNT);
    expect(answers.filter((t) => t === '{"method": "BYE REGISTER"}')).toHaveLength(5);
    // Re-registering a known id from its own address still succeeds at the cap (§6).
    sockets[0]!.send(register('ip-cap-0'), port);
    await sockets[0]!.until(() => sockets[0]!.got.length === 2);
    expect(sockets[0]!.got[1]).toBe('{"method": "OK REGISTER"}');
    await goodClientServed(port);
    expect(server.stats.registrationsRejected).toBe(5);
  });

  it('a full registry evicts its oldest unproven registration past the grace period, never a proven one', async () => {
    const expired = vi.fn();
    const { server, port } = await serve({ registrationLimit: 3, unprovenGraceMs: 150, onExpire: expired });
    const good = await goodClientServed(port); // registered and proven (it acknowledged its verdict)
    await vi.waitFor(() => expect(server.clients()[0]!.proven).toBe(true));
    const squatters = await Promise.all(['127.0.0.52', '127.0.0.53'].map((ip) => Peer.open(ip)));
    squatters.forEach((p, i) => p.send(register(`squatter-${i}`), port));
    for (const p of squatters) await p.until(() => p.got.length === 1);
    // Within the grace period a newcomer is refused...
    const early = await Peer.open('127.0.0.54');
    early.send(register('newcomer'), port);
    await early.until(() => early.got.length === 1);
    expect(early.got[0]).toBe('{"method": "BYE REGISTER"}');
    // ...after it, the newcomer takes the oldest unproven slot; the proven client stays.
    await sleep(200);
    early.send(register('newcomer'), port);
    await early.until(() => early.got.length === 2);
    expect(early.got[1]).toBe('{"method": "OK REGISTER"}');
    expect(server.clients().map((c) => c.id).sort()).toEqual([good.id, 'newcomer', 'squatter-1'].sort());
    expect(expired).toHaveBeenCalledWith(expect.objectContaining({ id: 'squatter-0', proven: false }));
    expect(await good.event({ still: 'here' })).toBe('LEGAL');
  });
});

describe('EventServer amplification: never more bytes out than in (issue 14 item 4)', () => {
  it('a spoofed registration that never acknowledges gets no resends, and at most the bytes it sent', async () => {
    const { server, port } = await serve({ maxRetries: 4 });
    const victim = await Peer.open('127.0.0.55');
    victim.send(register('spoofed'), port);
    for (let i = 0; i < 50; i++) victim.send(event('spoofed', `e${i}`), port);
    // The whole resend span: (maxRetries + 1) × retry timeout, and some.
    await sleep(6 * RETRY_MS + 100);
    expect(victim.got.filter((t) => t.includes('"LEGAL"'))).toHaveLength(50);
    expect(victim.bytesIn).toBeLessThanOrEqual(victim.bytesOut);
    expect(server.stats.judgementResends).toBe(0);
    expect(server.stats.resendsWithheld).toBe(50 * 4);
    await goodClientServed(port);
  });

  it('a client that acknowledged before gets resends; a lost verdict is resent, paid from its credit', async () => {
    const { server, port } = await serve({ maxRetries: 2 });
    const client = await Peer.open('127.0.0.56');
    client.send(register('acker'), port);
    client.send(event('acker', 'first'), port);
    await client.until(() => client.got.some((t) => t.includes('"first"')));
    client.send(`{"cuuid": "acker", "method": "OK EVENT", "euuid": "first"}`, port);
    await vi.waitFor(() => expect(server.clients()[0]!.proven).toBe(true));
    client.send(event('acker', 'second'), port);
    await client.until(() => client.got.filter((t) => t.includes('"second"')).length === 3, 1000);
    expect(server.stats.judgementResends).toBe(2);
    expect(client.bytesIn).toBeLessThanOrEqual(client.bytesOut);
  });

  it('an OHAI flood gets at most the per-IP burst of answers and never more bytes than it sent; a Neteria OHAI from another IP is answered', async () => {
    // 23 characters: the longest name whose answer (64 + 23 bytes) a Neteria OHAI (87 bytes) pays for.
    const name = 'my game server, room 01';
    const { server, port } = await serve({ serverName: name });
    const flooder = await Peer.open('127.0.0.57');
    for (let i = 0; i < 200; i++) flooder.send('{"method":"OHAI","version":"1.0.3","cuuid":""}', port);
    await sleep(100);
    expect(flooder.got.length).toBeLessThanOrEqual(OHAI_REPLY_BURST_COUNT);
    expect(flooder.bytesIn).toBeLessThanOrEqual(flooder.bytesOut);
    expect(server.stats.ohaiLimited).toBeGreaterThanOrEqual(200 - OHAI_REPLY_BURST_COUNT - 1);
    // What the real client sends (neteria.md N10): 87 bytes, answered at once.
    const neteria = await Peer.open('127.0.0.1');
    neteria.send('{"method": "OHAI", "version": "1.0.3", "cuuid": "8332ca32-e6b4-11f1-825f-02fc00000001"}', port);
    await neteria.until(() => neteria.got.length === 1);
    expect(neteria.got[0]).toBe(`{"method": "OHAI Client", "version": "1.0.3", "server_name": "${name}"}`);
    expect(neteria.bytesIn).toBeLessThanOrEqual(neteria.bytesOut);
  });

  it('answers a longer server name only once the prober has sent as many bytes', async () => {
    const { server, port } = await serve({ serverName: 'x'.repeat(40) });
    const p = await Peer.open('127.0.0.59');
    const probe = '{"method": "OHAI", "version": "1.0.3", "cuuid": "8332ca32-e6b4-11f1-825f-02fc00000001"}';
    p.send(probe, port);
    await sleep(50);
    expect(p.got).toEqual([]);
    p.send(probe, port);
    await p.until(() => p.got.length === 1);
    expect(p.bytesIn).toBeLessThanOrEqual(p.bytesOut);
    expect(server.stats.repliesWithheld).toBe(1);
  });

  it('answers an EVENT from an unregistered address (BYE EVENT) only within the bytes it sent', async () => {
    const { server, port } = await serve();
    const p = await Peer.open('127.0.0.58');
    for (let i = 0; i < 100; i++) p.send(event(`nobody-${i}`, `e${i}`), port);
    await p.until(() => p.got.length === 100);
    expect(p.bytesIn).toBeLessThanOrEqual(p.bytesOut);
    expect(server.stats.repliesWithheld).toBe(0);
  });
});

describe('the original Neteria client under the defaults', () => {
  it('discovers, registers, has an event judged, acknowledges, and receives a NOTIFY, byte for byte', async () => {
    const delivered = vi.fn();
    const { server, port } = await serve({ retryTimeoutMs: undefined, serverName: 'loopsrv', onNotifyDelivered: delivered });
    const C = '8332ca32-e6b4-11f1-825f-02fc00000001';
    const p = await Peer.open('127.0.0.1');
    p.send(`{"method": "OHAI", "version": "1.0.3", "cuuid": "${C}"}`, port);
    await p.until(() => p.got.length === 1);
    expect(p.got[0]).toBe('{"method": "OHAI Client", "version": "1.0.3", "server_name": "loopsrv"}');
    p.send(`{"method": "REGISTER", "cuuid": "${C}"}`, port);
    await p.until(() => p.got.length === 2);
    expect(p.got[1]).toBe('{"method": "OK REGISTER"}');
    p.send(`{"method": "EVENT", "cuuid": "${C}", "euuid": "e1", "event_data": {"move": "left"}, "timestamp": "${TS}", "retry": 0, "priority": "normal"}`, port);
    await p.until(() => p.got.length === 3);
    expect(p.got[2]).toBe('{"method": "LEGAL", "euuid": "e1", "priority": "normal"}');
    p.send(`{"cuuid": "${C}", "method": "OK EVENT", "euuid": "e1"}`, port);
    await vi.waitFor(() => expect(server.clients()[0]!.proven).toBe(true));
    const id = server.notify(C, { tick: 1 });
    await p.until(() => p.got.length === 4);
    expect(p.got[3]).toBe(`{"method": "NOTIFY", "event_data": {"tick": 1}, "euuid": "${id}"}`);
    p.send(`{"cuuid": "${C}", "method": "OK NOTIFY", "euuid": "${id}"}`, port);
    await vi.waitFor(() => expect(delivered).toHaveBeenCalled());
    expect(server.stats.repliesWithheld).toBe(0);
  });
});

describe('EventServer budget options', () => {
  it.each([
    ['maxRegistrationsPerAddress', 0],
    ['maxRegistrationsPerIp', -1],
    ['unprovenGraceMs', 0],
    ['maxReplyCreditBytes', 100],
    ['ohaiRepliesPerSecond', 0],
  ])('rejects %s = %s with a RangeError naming it', (name, value) => {
    expect(() => new EventServer({ [name]: value })).toThrow(new RegExp(name));
  });

  it('refuses an unknown option with a TypeError naming it (issue 16 item 10)', () => {
    expect(() => new EventServer({ registrationLimt: 5 } as never)).toThrow(TypeError);
    expect(() => new EventServer({ registrationLimt: 5 } as never)).toThrow(/unknown option 'registrationLimt'/);
  });

  it('keeps memory bounded under a flood of REGISTERs from many sockets', async () => {
    const { server, port } = await serve({ registrationLimit: 50 });
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage().heapUsed;
    const sockets = await Promise.all(Array.from({ length: 40 }, (_, i) => Peer.open(`127.0.0.${100 + (i % 20)}`)));
    for (let round = 0; round < 50; round++) sockets.forEach((p, i) => p.send(register(`flood-${round}-${i}`), port));
    await sleep(200);
    expect(server.clients().length).toBeLessThanOrEqual(50);
    await goodClientServed(port);
    gc?.();
    // Stated bound: 2,000 registrations' worth of churn leaves under 16 MiB behind.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(16 * 2 ** 20);
  });
});
