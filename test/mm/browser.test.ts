/**
 * The browser face of mm (src/mm/browser.ts) run in Node: WebCrypto AES-GCM/HKDF, the simple
 * event ring and a WebSocket (the `ws` package standing in for the browser's), against the Node
 * Server. The real-browser run is test/browser (issue 6).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { Server } from '../../src/mm/index.js';
import type { Client as ClientType } from '../../src/mm/client.js';
import { KEY256, sleep } from './helpers.js';

let browser: typeof import('../../src/mm/browser.js');
beforeAll(async () => {
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
  browser = await import('../../src/mm/browser.js');
});

const servers: Server[] = [];
const clients: ClientType[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.close();
  await sleep(10);
  browser.pollEvents();
});

async function exchange(skey?: string, ckey?: string) {
  const server = await Server.listen('127.0.0.1', 0, skey, { ownQueue: true });
  servers.push(server);
  const client = new browser.Client('127.0.0.1', server.getPort(), ckey);
  clients.push(client);
  const [ok] = await client.waitForConnect();
  return { server, client, ok };
}

describe('mm browser entry', () => {
  it.each([
    ['plain', undefined],
    ['encrypted', KEY256],
  ])('exchanges tables with a Node Server (%s)', async (_n, key) => {
    const { server, client, ok } = await exchange(key, key);
    expect(ok).toBe(true);
    for (let i = 0; i < 20; i++) expect(client.send({ i, s: 'x'.repeat(i * 1000) })).toBe(true);
    const got: unknown[] = [];
    const end = Date.now() + 4000;
    while (got.length < 20 && Date.now() < end) {
      for (const ev of server.pollEvents()) if (ev.type === browser.EventType.RECEIVE) got.push(ev.packet);
      await sleep(5);
    }
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => ({ i, s: 'x'.repeat(i * 1000) })));
    server.broadcast({ back: 'to the browser', big: 'z'.repeat(150_000) });
    const events: unknown[] = [];
    while (events.length === 0 && Date.now() < end) {
      for (const ev of browser.pollEvents()) if (ev.type === browser.EventType.RECEIVE) events.push(ev.packet);
      await sleep(5);
    }
    expect(events).toEqual([{ back: 'to the browser', big: 'z'.repeat(150_000) }]);
  });

  it('reports a wrong key as "authentication failed"', async () => {
    const { ok } = await exchange(KEY256, 'ab'.repeat(32));
    expect(ok).toBe(false);
    const errors = browser.pollEvents().filter((e) => e.type === browser.EventType.ERROR);
    expect((errors[0] as { error: string }).error).toBe('authentication failed');
  });

  it('has a compat namespace without Server', () => {
    expect(browser.network.Server('127.0.0.1', 0)).toEqual([null, 'Server is not available in browsers']);
  });

  it('bundles for browsers without Node built-ins', async () => {
    const { buildBrowser } = (await import('../../scripts/build-browser.mjs' as string)) as {
      buildBrowser: (o: object) => Promise<{ inputs: string[] }>;
    };
    const outfile = join(tmpdir(), `gw-mm-${process.pid}.js`);
    const out = await buildBrowser({ entry: join(process.cwd(), 'src/mm/browser.ts'), outfile, quiet: true });
    rmSync(outfile, { force: true });
    rmSync(`${outfile}.map`, { force: true });
    expect(out.inputs.some((f) => f.includes('src/mm/client.ts'))).toBe(true);
    expect(out.inputs.some((f) => f.includes('src/platform/node.ts') || f.includes('src/mm/node-context.ts'))).toBe(false);
  });
});
