/**
 * An idle connection costs little (issue 13): a connection silent for a sweep gives back its outbox
 * slab and, when it stopped at a unit boundary, its parser. Nothing a peer sent is lost by that: a
 * unit split across a long silence is still parsed whole, and a parser given back is reset before
 * another connection takes it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Relay, silentLogger } from '../../src/relay/index.js';
import { TcpClient, closeAll } from './raw-client.js';

let relay: Relay | undefined;
afterEach(async () => {
  closeAll();
  await relay?.close();
  relay = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The relay's view of its connections (white box: what each holds while idle). */
function held(r: Relay): { parsers: number; slabs: number; spares: number } {
  const inside = r as unknown as { connections: Set<{ parser: unknown; outbox: { buf: Buffer } }>; spareParsers: unknown[] };
  let parsers = 0;
  let slabs = 0;
  for (const c of inside.connections) {
    if (c.parser !== null) parsers++;
    if (c.outbox.buf.length > 0) slabs++;
  }
  return { parsers, slabs, spares: inside.spareParsers.length };
}

// stallTimeoutMs 100: the sweep runs every 25 ms, so "idle for a sweep" takes a few tens of ms
// (and no keepalive comes in between: none of these peers has a backlog to stall on).
// The Node engine's parser pool and slabs (the native engine has its own: test/native-engine).
const FAST_SWEEP = { logger: silentLogger, stallTimeoutMs: 100, engine: 'node' } as const;

describe('idle connections', () => {
  it('give back their parser and slab after a sweep of silence, and take them again when they talk', async () => {
    relay = await Relay.listen(FAST_SWEEP);
    const a = await TcpClient.connect(relay.port);
    const b = await TcpClient.connect(relay.port);
    a.send('00 00 01 01 61'); // create "a"
    expect([...(await a.read(5))]).toEqual([0, 3, 1, 0, 0]);
    b.send('00 01 01 01 61'); // enter "a"
    expect([...(await b.read(5))]).toEqual([0, 3, 1, 0, 0]);
    await a.read(6); // userConnect
    // A read of commands only gives its parser back at once: one parser served both.
    expect(held(relay)).toMatchObject({ parsers: 0, spares: 1 });
    // Talking data takes the spare and keeps it while talking...
    b.send('04 00 41 42 43');
    expect([...(await a.read(6))]).toEqual([5, 0x80, 0, 0x41, 0x42, 0x43]);
    expect(held(relay)).toMatchObject({ parsers: 1, spares: 0 });
    // ...until a sweep of silence, which gives back the parser and both slabs.
    await sleep(150);
    expect(held(relay)).toMatchObject({ parsers: 0, slabs: 0, spares: 1 });
  });

  it('makes no parser per connection in a burst of creates (each read of commands only gives its parser back)', async () => {
    relay = await Relay.listen(FAST_SWEEP);
    const clients = await Promise.all(Array.from({ length: 20 }, () => TcpClient.connect(relay!.port)));
    clients.forEach((c, i) => c.send(`00 00 01 01 ${(0x41 + i).toString(16)}`));
    for (const c of clients) expect([...(await c.read(5))]).toEqual([0, 3, 1, 0, 0]);
    const now = held(relay);
    expect(now.parsers).toBe(0);
    // Reads may overlap, but far fewer parsers than connections were ever made.
    expect(now.spares).toBeLessThanOrEqual(clients.length);
    expect(now.spares).toBeGreaterThanOrEqual(1);
  });

  it('keeps the parser of a connection that went silent inside a unit, and finishes the unit later', async () => {
    relay = await Relay.listen(FAST_SWEEP);
    const c = await TcpClient.connect(relay.port);
    c.send('00 00 01'); // a create cut after cmdNr
    await sleep(150);
    expect(held(relay).parsers).toBe(1);
    c.send('02 72 6f'); // len 2, "ro"
    expect([...(await c.read(5))]).toEqual([0, 3, 1, 0, 0]);
    // A data frame cut in its payload, across a silence.
    const u = await TcpClient.connect(relay.port);
    u.send('00 01 01 02 72 6f');
    expect([...(await u.read(5))]).toEqual([0, 3, 1, 0, 0]);
    await c.read(6);
    u.send('06 00 31 32'); // size 6: jIn + 5 data bytes, 2 of them here
    await sleep(150);
    expect(held(relay).parsers).toBe(1); // u, in the middle of its frame (c gave its own back)
    u.send('33 34 35');
    // Forwarded as it arrived (joint.md §8 lets the relay re-fragment): the pieces join whole.
    const [unit] = await c.takeUnits([{ kind: 'data', a: 0x80, b: 0, data: Buffer.from('12345') }]);
    expect(unit).toEqual({ kind: 'data', a: 0x80, b: 0, data: Buffer.from('12345') });
  });

  it('resets a parser given back before another connection takes it', async () => {
    relay = await Relay.listen(FAST_SWEEP);
    const first = await TcpClient.connect(relay.port);
    first.send('00 00 01 01 78'); // create "x"
    await first.read(5);
    await sleep(150); // first's parser goes back to the spares
    first.destroy();
    const second = await TcpClient.connect(relay.port);
    second.send('00 00 07 01 79'); // create "y" with cmdNr 7
    expect([...(await second.read(5))]).toEqual([0, 3, 7, 0, 0]);
  });
});
