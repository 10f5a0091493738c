/**
 * What a new user trips over with the mm Client (issue 16): a port given as a string, unknown
 * options, inspect output, and a failed connect that must leave nothing open.
 */
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, MmArgumentError, Server, network } from '../../src/mm/index.js';
import { deadPort, ROOT, runSnippet } from '../helpers/exits-by-itself.js';

const KEY = '0C03EA65238DD2C25EB87CE563868098';
const clients: Client[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.close();
});

describe('mm Client arguments (issue 16 items 6, 10)', () => {
  it("new Client('127.0.0.1', '4096') says it got a string", () => {
    const err = (() => {
      try {
        new Client('127.0.0.1', '4096' as unknown as number);
      } catch (e) {
        return e as MmArgumentError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(MmArgumentError);
    expect(err!.code).toBe('GW_ERR_BAD_PORT');
    expect(err!.message).toBe("port must be an integer in 1..65535, got a string ('4096')");
    expect(() => new Client('127.0.0.1', 4096.5)).toThrow('port must be an integer in 1..65535, got 4096.5');
    expect(() => new Client('127.0.0.1', null as never)).toThrow('got null');
  });

  it('refuses an unknown option with a TypeError naming it', () => {
    expect(() => new Client('127.0.0.1', 4096, undefined, { conectTimeoutMs: 5 } as never)).toThrow(
      new TypeError("Client: unknown option 'conectTimeoutMs' (known: maxFrameBytes, maxMessageBytes, maxSendBufferBytes, keepaliveIntervalMs, keepaliveTimeoutMs, handshakeTimeoutMs, maxInboundPerSecond, maxPendingDecryptBytes, protocolVersion, ownQueue, queue, transport, url, connectTimeoutMs, maxTableDepth)"),
    );
    const [c, result] = network.Client('127.0.0.1', 4096, undefined, { bogus: 1 } as never);
    expect(c).toBeNull();
    expect(result).toMatch(/unknown option 'bogus'/);
  });

  it('send refuses NaN and names a cycle once', async () => {
    const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true });
    servers.push(server);
    const client = new Client('127.0.0.1', server.getPort(), undefined, { ownQueue: true });
    clients.push(client);
    const [ok] = await client.waitForConnect(5);
    expect(ok).toBe(true);
    expect(() => client.send({ nan: NaN })).toThrow(new TypeError('table.nan is NaN; tables hold numbers other than NaN'));
    const self: Record<string, unknown> = {};
    self.self = self;
    expect(() => client.send(self as never)).toThrow(new TypeError('table.self refers back to table (a cycle); tables must be trees'));
  });
});

describe('mm Client inspect (issue 16 item 11)', () => {
  it('prints one line and never the key', () => {
    const client = new Client('127.0.0.1', 4096, KEY, { ownQueue: true });
    clients.push(client);
    const text = inspect(client);
    expect(text).toMatch(/^Client \{ socket \d+, 127\.0\.0\.1:4096, connecting, encrypted \}$/);
    expect(text.toUpperCase()).not.toContain(KEY);
    expect(inspect({ c: client }, { depth: 5 }).toUpperCase()).not.toContain(KEY);
  });
});

describe('a failed connect leaves nothing open (issue 16 item 5)', () => {
  it('the process exits by itself after the CONNECTED(false) event', async () => {
    const dead = await deadPort();
    const run = await runSnippet(`
      import { Client } from '${ROOT}/src/mm/index.ts';
      const c = new Client('127.0.0.1', ${dead}, undefined, { ownQueue: true });
      const [ok] = await c.waitForConnect(5);
      console.log('connected', ok, c.pollEvents().map((e) => e.error ?? '').join('|'));
    `);
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^connected false \|?connect to 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/);
  });
});
