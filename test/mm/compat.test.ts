import { afterEach, describe, expect, it } from 'vitest';
import { network, EventType, type Server, type Client, type CompatEvent } from '../../src/mm/index.js';
import { KEY, sleep } from './helpers.js';

const servers: Server[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.close();
  await sleep(10);
  network.PollEvents();
});

async function until(events: CompatEvent[], cond: (e: CompatEvent[]) => boolean) {
  const end = Date.now() + 4000;
  while (!cond(events)) {
    if (Date.now() > end) throw new Error('not in time');
    events.push(...network.PollEvents());
    await sleep(5);
  }
}

describe('network (compat namespace)', () => {
  it('has the original EVENT_* constants', () => {
    expect(network.EVENT_CONNECT).toBe(EventType.CONNECT);
    expect(network.EVENT_CONNECTED).toBe(EventType.CONNECTED);
    expect(network.EVENT_RECEIVE).toBe(EventType.RECEIVE);
    expect(network.EVENT_SERVER_CLOSE).toBe(EventType.SERVER_CLOSE);
    expect(network.EVENT_CLIENT_CLOSE).toBe(EventType.CLIENT_CLOSE);
    expect(network.EVENT_ERROR).toBe(EventType.ERROR);
  });

  it('returns [null, reason] instead of throwing', () => {
    const [s, r] = network.Server('127.0.0.1', 4096, 'not hex');
    expect(s).toBeNull();
    expect(r).toMatch(/32 hex digits/);
    const [c, r2] = network.Client('127.0.0.1', 0);
    expect(c).toBeNull();
    expect(r2).toMatch(/port/);
  });

  it('runs a server and a client with the original field names', async () => {
    const [server, result] = network.Server('127.0.0.1', 0, KEY);
    expect(result).toBe('ok');
    servers.push(server!);
    await server!.ready;
    const [client, r2] = network.Client('127.0.0.1', server!.getPort(), KEY);
    expect(r2).toBe('ok');
    clients.push(client!);
    const events: CompatEvent[] = [];
    await until(events, (e) => e.some((x) => x.Event === network.EVENT_CONNECTED));
    const connected = events.find((x) => x.Event === network.EVENT_CONNECTED)!;
    expect(connected.Result).toBe(true);
    expect(connected.Object).toBe(client);
    client!.send({ hello: 'mm' });
    await until(events, (e) => e.some((x) => x.Event === network.EVENT_RECEIVE));
    const rec = events.find((x) => x.Event === network.EVENT_RECEIVE)!;
    expect(rec.Packet).toEqual({ hello: 'mm' });
    expect(typeof rec.Timestamp).toBe('number');
    server!.disconnect(rec.Object as never);
    await until(events, (e) => e.some((x) => x.Event === network.EVENT_SERVER_CLOSE));
    expect(events.find((x) => x.Event === network.EVENT_SERVER_CLOSE)!.Reason).toBe('disconnected by server');
    const [bad] = network.Client('127.0.0.1', server!.getPort());
    clients.push(bad!);
    await until(events, (e) => e.some((x) => x.Event === network.EVENT_ERROR));
    expect(events.find((x) => x.Event === network.EVENT_ERROR)!.Errors).toMatch(/key mismatch/);
    expect(network.DroppedEvents()).toBe(0);
  });
});
