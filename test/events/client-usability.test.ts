/**
 * What a new user trips over with the EventClient (issue 16): data JSON cannot carry exactly,
 * unknown options, inspect output, argument checks, and a failed register that must leave
 * nothing open.
 */
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { EventClient } from '../../src/events/client.js';
import { deadPort, ROOT, runSnippet } from '../helpers/exits-by-itself.js';
import { RawPeer } from './raw-peer.js';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

/**
 * A client registered with a raw fake server, so event() gets as far as sending. Retries are 2 s
 * apart: on a loaded machine a shorter timer resent the REGISTER into the window a test reads.
 */
async function registered(): Promise<{ c: EventClient; s: RawPeer }> {
  const s = await RawPeer.open();
  opened.push(s);
  const c = new EventClient({ port: 0, host: '127.0.0.1', retryTimeoutMs: 2000, maxRetries: 2, log: () => undefined });
  opened.push(c);
  const done = c.register('127.0.0.1', s.port);
  const reg = (await s.next())!;
  s.send('{"method": "OK REGISTER"}', reg.from.port);
  await done;
  return { c, s };
}

describe('EventClient.event refuses what JSON cannot carry exactly (issue 16 item 6)', () => {
  class Point {
    constructor(readonly x: number) {}
  }
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  it.each([
    ['a function', { f: () => 1 }, 'data.f is a function, which JSON cannot carry'],
    ['a symbol', [Symbol('s')], 'data[0] is a symbol, which JSON cannot carry'],
    ['an undefined member', { hp: undefined }, 'data.hp is undefined, which JSON cannot carry'],
    ['undefined itself', undefined, 'data is undefined, which JSON cannot carry'],
    ['NaN', { x: NaN }, 'data.x is NaN, which JSON cannot carry'],
    ['Infinity', [1, -Infinity], 'data[1] is -Infinity, which JSON cannot carry'],
    ['a huge BigInt', { big: 2n ** 70n }, 'data.big is a BigInt beyond ±(2^53 − 1), which a JSON reader would round; send it as a string'],
    ['a Map', { m: new Map([[1, 2]]) }, 'data.m is an instance of Map, which JSON would not carry as it is; convert it to a plain object or array'],
    ['a class instance', { p: new Point(1) }, 'data.p is an instance of Point, which JSON would not carry as it is; convert it to a plain object or array'],
    ['a cycle', cycle, 'data.self refers back to one of its parents (a cycle), which JSON cannot carry'],
  ])('%s is a TypeError naming the path, and nothing is sent', async (_what, data, message) => {
    const { c, s } = await registered();
    expect(() => c.event(data)).toThrow(new TypeError(message));
    expect(c.stats.eventsSent).toBe(0);
    expect(c.pending.size).toBe(0);
    expect(await s.collect(20)).toEqual([]); // after the REGISTER, nothing
  });

  it('what JSON carries exactly still goes: safe BigInts, Dates (toJSON), nested plain data', async () => {
    const { c, s } = await registered();
    void c.event({ n: 2n ** 52n, at: new Date(0), list: [1, 'a', null, { ok: true }] });
    const sent = (await s.next())!;
    expect(sent.text).toContain('"event_data": {"n": 4503599627370496, "at": "1970-01-01T00:00:00.000Z", "list": [1, "a", null, {"ok": true}]}');
  });
});

describe('EventClient arguments and options (issue 16 items 3, 10)', () => {
  it('refuses an unknown option naming it', () => {
    expect(() => new EventClient({ retryTimeout: 5 } as never)).toThrow(/^EventClient: unknown option 'retryTimeout' \(known: port, host, /);
  });
  it('register checks host and port at the call', async () => {
    const c = new EventClient({ log: () => undefined });
    opened.push(c);
    await expect(c.register(5 as never, 40080)).rejects.toThrow(new TypeError('host must be a non-empty string, got a number'));
    await expect(c.register('127.0.0.1', '40080' as never)).rejects.toThrow(new TypeError("port must be a number, got a string ('40080')"));
    await expect(c.register('127.0.0.1', 0)).rejects.toThrow(new RangeError('port must be an integer in 1..65535, got 0'));
  });
});

describe('EventClient inspect (issue 16 item 11)', () => {
  it('prints one line', async () => {
    const { c, s } = await registered();
    expect(inspect(c)).toBe(`EventClient { ${c.id}, 127.0.0.1:${s.port}, registered, 0 pending }`);
  });
});

describe('a failed register leaves nothing open (issue 16 item 5)', () => {
  it('the process exits by itself after register() rejects', async () => {
    const dead = await deadPort();
    const run = await runSnippet(`
      import { EventClient } from '${ROOT}/src/events/index.ts';
      const c = new EventClient({ retryTimeoutMs: 50, maxRetries: 1, log: () => undefined });
      await c.register('127.0.0.1', ${dead}).catch((e) => console.log('rejected', e.code));
    `);
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('rejected GW_ERR_REGISTER_TIMEOUT\n');
  });

  it('the socket is bound again by the next call, which can succeed', async () => {
    const c = new EventClient({ port: 0, host: '127.0.0.1', retryTimeoutMs: 30, maxRetries: 0, log: () => undefined });
    opened.push(c);
    await expect(c.register('127.0.0.1', await deadPort())).rejects.toMatchObject({ code: 'GW_ERR_REGISTER_TIMEOUT' });
    const s = await RawPeer.open();
    opened.push(s);
    const done = c.register('127.0.0.1', s.port);
    const reg = (await s.next())!;
    s.send('{"method": "OK REGISTER"}', reg.from.port);
    await done;
    expect(c.registered).toBe(true);
  });

  it('a client that called listen() keeps its socket after a failed register', async () => {
    const c = new EventClient({ port: 0, host: '127.0.0.1', retryTimeoutMs: 30, maxRetries: 0, log: () => undefined });
    opened.push(c);
    const before = await c.listen();
    await expect(c.register('127.0.0.1', await deadPort())).rejects.toMatchObject({ code: 'GW_ERR_REGISTER_TIMEOUT' });
    expect(await c.listen()).toEqual(before);
  });
});
