/**
 * What a new user trips over with UdpPipe (issue 16): unknown options, arguments checked at the
 * call, inspect output that never shows the token, and a failed connect that must leave
 * nothing open.
 */
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { UdpPipe } from '../../src/udp/index.js';
import { ROOT, runSnippet } from '../helpers/exits-by-itself.js';
import { Bag, until } from './harness.js';

const bag = new Bag();
afterEach(() => bag.close());

const TOKEN = 'sEcReT-t0ken-xyz';

describe('UdpPipe options and arguments (issue 16 items 3, 10)', () => {
  it('refuses an unknown option naming it', () => {
    expect(() => new UdpPipe({ tokn: 'x' } as never)).toThrow(/^UdpPipe: unknown option 'tokn' \(known: mode, token, /);
    expect(() => new UdpPipe(5 as never)).toThrow(new TypeError('UdpPipe: options must be an object, got a number'));
  });
  it('connect and start check host and port at the call', () => {
    const pipe = bag.pipe();
    expect(() => pipe.connect('127.0.0.1', 'abc' as never)).toThrow(new TypeError("port must be a number, got a string ('abc')"));
    expect(() => pipe.connect('127.0.0.1', 0)).toThrow(new RangeError('port must be an integer in 1..65535, got 0'));
    expect(() => pipe.connect('127.0.0.1', 7690.5)).toThrow(RangeError);
    expect(() => pipe.connect(7 as never, 1234)).toThrow(new TypeError('host must be a non-empty string, got a number'));
    expect(() => pipe.start(70000)).toThrow(new RangeError('port must be an integer in 0..65535, got 70000'));
    expect(pipe.session).toBeNull();
  });
});

describe('inspect output (issue 16 item 11)', () => {
  it('pipes and sessions print one line each, and never the token', async () => {
    const lines: string[] = [];
    const server = bag.pipe({ token: TOKEN, verbose: (l) => lines.push(l) });
    const port = await server.start(0, '127.0.0.1');
    const client = bag.pipe({ token: TOKEN, verbose: (l) => lines.push(l) });
    const session = client.connect('127.0.0.1', port);
    await until(() => server.clients.length === 1 && session.open);
    const shown = [inspect(server), inspect(client), inspect(session), inspect(server.clients[0]), inspect({ client, session }, { depth: 10 })];
    expect(shown[0]).toBe(`UdpPipe { server on 127.0.0.1:${port}, 1 sessions, loop mode }`);
    expect(shown[1]).toMatch(/^UdpPipe \{ client of 127\.0\.0\.1:\d+, open, loop mode \}$/);
    expect(shown[2]).toMatch(/^UdpSession \{ #\d+ client ↔ 127\.0\.0\.1:\d+, open(, rtt [\d.]+ ms)? \}$/);
    expect(shown[3]).toMatch(/^UdpSession \{ #\d+ server ↔ 127\.0\.0\.1:\d+, open/);
    for (const text of [...shown, ...lines, String(session)]) expect(text).not.toContain(TOKEN);
    expect(lines.length).toBeGreaterThan(0);
  });

  it('JSON.stringify shows the public state of pipes and sessions, started or not, never the token', async () => {
    const fresh = bag.pipe({ token: TOKEN });
    expect(JSON.parse(JSON.stringify(fresh))).toEqual({ kind: 'UdpPipe', role: 'none', mode: 'loop', port: 0, sessions: 0, destroyed: false });
    const server = bag.pipe({ token: TOKEN });
    const port = await server.start(0, '127.0.0.1');
    const client = bag.pipe({ token: TOKEN });
    const session = client.connect('127.0.0.1', port);
    await until(() => server.clients.length === 1 && session.open);
    const texts = [JSON.stringify(server), JSON.stringify(client), JSON.stringify(session), JSON.stringify(server.clients[0]), JSON.stringify({ client, session })];
    expect(JSON.parse(texts[0]!)).toMatchObject({ kind: 'UdpPipe', role: 'server', port, sessions: 1 });
    expect(JSON.parse(texts[2]!)).toMatchObject({ kind: 'UdpSession', side: 'client', state: 'open', address: '127.0.0.1' });
    for (const text of texts) expect(text).not.toContain(TOKEN);
  });
});

describe('a failed connect leaves nothing open (issue 16 item 5)', () => {
  it('the process exits by itself after the handshake times out', async () => {
    const run = await runSnippet(`
      import { createSocket } from 'node:dgram';
      import { UdpPipe } from '${ROOT}/src/udp/index.ts';
      // A bound, silent UDP port: HELLOs vanish, as with a dead server.
      const silent = createSocket('udp4');
      await new Promise((r) => silent.bind(0, '127.0.0.1', r));
      const port = silent.address().port;
      const client = new UdpPipe({ handshakeTimeoutMs: 300, handshakeRetryMs: 50 });
      client.onDisconnect = (s, reason) => { console.log('disconnect', reason); silent.close(); };
      client.connect('127.0.0.1', port);
    `);
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('disconnect handshake timeout\n');
  });

  it('an unknown host ends the session with error and leaves nothing open', async () => {
    const run = await runSnippet(`
      import { UdpPipe } from '${ROOT}/src/udp/index.ts';
      const client = new UdpPipe();
      client.onError = (e) => console.log('error', e.code);
      client.onDisconnect = (s, reason) => console.log('disconnect', reason);
      client.connect('no-such-host.invalid', 1234);
    `, 15_000);
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('error GW_ERR_UDP_SOCKET\ndisconnect error\n');
  });
});
