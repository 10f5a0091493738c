/** The events tests' seeded lossy proxy (test/helpers/events-lossy-proxy.ts) does what it says. */
import { afterEach, describe, expect, it } from 'vitest';
import { EventsLossyProxy } from '../helpers/events-lossy-proxy.js';
import { RawPeer } from './raw-peer.js';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

async function run(seed: number): Promise<{ fates: string[]; order: string[] }> {
  const target = await RawPeer.open();
  const sender = await RawPeer.open();
  opened.push(target, sender);
  const proxy = await EventsLossyProxy.start({ target: { address: '127.0.0.1', port: target.port }, seed, loss: 0.2, duplicate: 0.2, delayMs: [0, 20] });
  opened.push(proxy);
  sender.send('warm-up', proxy.address.port); // the upstream socket is bound on the first datagram
  await target.text();
  for (let i = 0; i < 40; i++) sender.send(`d${i}`, proxy.address.port);
  const order = await target.collect(150);
  return { fates: proxy.log.slice(1).map((e) => `${e.text}:${e.fate}`), order };
}

describe('EventsLossyProxy', () => {
  it('loses, duplicates and reorders, and the same seed gives the same decisions', async () => {
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(a.fates).toEqual(b.fates);
    expect(a.fates).not.toEqual(c.fates);
    expect(a.fates.some((f) => f.endsWith(':lost'))).toBe(true);
    expect(a.fates.some((f) => f.endsWith(':duplicated'))).toBe(true);
    const expected = a.fates.flatMap((f) => (f.endsWith(':lost') ? [] : f.endsWith(':duplicated') ? [f, f] : [f])).length;
    expect(a.order).toHaveLength(expected);
    const indices = a.order.map((t) => Number(t.slice(1)));
    expect(indices).not.toEqual([...indices].sort((x, y) => x - y)); // reordered
  });

  it('drops exactly the datagrams a rule names, and relays answers back to the client', async () => {
    const target = await RawPeer.open();
    const client = await RawPeer.open();
    opened.push(target, client);
    const proxy = await EventsLossyProxy.start({ target: { address: '127.0.0.1', port: target.port }, seed: 1 });
    opened.push(proxy);
    proxy.dropNext('up', 'secret', 2);
    for (const t of ['secret 1', 'hello', 'secret 2', 'secret 3']) client.send(t, proxy.address.port);
    expect(await target.collect(100)).toEqual(['hello', 'secret 3']);
    const first = proxy.seen('up', 'hello')[0]!;
    expect(first.fate).toBe('pass');
    // Answer from the target to the proxy's upstream socket: it comes back to the client.
    client.send('ping', proxy.address.port);
    const ping = (await target.next())!;
    target.send('pong', ping.from.port);
    expect(await client.text()).toBe('pong');
  });
});
