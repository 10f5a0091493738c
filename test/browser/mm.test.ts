import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { EventType, Server, type Connection, type MmEvent, type Table } from '../../src/mm/index.js';
import { HAS_CHROMIUM, CHROMIUM_SKIP_REASON, ensureBrowserBundle, launchChromium, openHarness, serveBundleAndPages, type StaticServer } from './harness.js';

const KEY128 = '0C03EA65238DD2C25EB87CE563868098';
const KEY256 = '0C03EA65238DD2C25EB87CE5638680980C03EA65238DD2C25EB87CE563868098';
const OTHER128 = 'A0C03EA65238DD2C25EB87CE56386809';

/** Tables of every kind the subset allows, one larger than a frame (chunked and reassembled). */
const TABLES: Table[] = [
  { hello: 'world' },
  { x: 12, y: -7, speed: 3.25, alive: true, target: null },
  { name: 'héllo ✓ 🎮', tags: ['a', 'b', ''], nested: { deep: { deeper: { list: [1, [2, [3, { four: 4 }]]] } } } },
  { ints: [0, 1, -1, 127, 128, 255, 256, 65535, 65536, -2147483648, 4294967295, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER] },
  { floats: [0.1, -1.5e-300, 1.7976931348623157e308, Math.PI] },
  { empty: {}, none: [], flag: false },
  [1, 'two', { three: 3 }],
  'a bare string',
  42,
  { blob: 'x'.repeat(150_000), after: 'the big one' },
];

/** Poll a Node server's own queue until `done` says so. */
async function pollUntil(server: Server, events: MmEvent[], done: (events: MmEvent[]) => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    events.push(...server.pollEvents());
    if (done(events)) return;
    if (Date.now() > deadline) throw new Error(`server events so far: ${events.map((e) => e.type).join(',')}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** In the page: connect an mm Client and poll its events into `window.mmState` every 5 ms. */
function connectFromPage(page: Page, port: number, key: string | undefined) {
  return page.evaluate(
    ({ port, key }) => {
      const gw = (window as any).gamewire;
      const state = ((window as any).mmState = { connected: null as boolean | null, received: [] as unknown[], errors: [] as string[], closes: [] as string[] });
      // Its own queue from the start: an event pushed before the first poll would otherwise stay
      // in the global queue (the first client.pollEvents() moves only later events).
      const client = new gw.Client('127.0.0.1', port, key ?? undefined, { ownQueue: true });
      (window as any).mmClient = client;
      const poll = () => {
        for (const ev of client.pollEvents()) {
          if (ev.type === gw.EventType.CONNECTED) state.connected = ev.result;
          else if (ev.type === gw.EventType.RECEIVE) state.received.push(ev.packet);
          else if (ev.type === gw.EventType.ERROR) state.errors.push(ev.error);
          else if (ev.type === gw.EventType.SERVER_CLOSE) state.closes.push(ev.reason);
        }
      };
      (window as any).mmPoller = setInterval(poll, 5);
    },
    { port, key: key ?? null },
  );
}

describe.skipIf(!HAS_CHROMIUM)(`the MM style in Chromium: a page Client and a Node Server${CHROMIUM_SKIP_REASON}`, () => {
  let browser: Browser;
  let files: StaticServer;
  const servers: Server[] = [];
  const pages: Page[] = [];
  beforeAll(async () => {
    ensureBrowserBundle();
    [browser, files] = await Promise.all([launchChromium(), serveBundleAndPages()]);
  });
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close();
    for (const server of servers.splice(0)) await server.close();
  });
  afterAll(async () => {
    await browser?.close();
    await files?.close();
  });

  it.each([
    ['plain', undefined],
    ['AES-128', KEY128],
    ['AES-256', KEY256],
  ])('exchanges tables both ways over WebSocket on the server\'s port (%s)', async (_name, key) => {
    const server = await Server.listen('127.0.0.1', 0, key, { ownQueue: true });
    servers.push(server);
    const { page, problems } = await openHarness(browser, files, 'mm page');
    pages.push(page);
    await connectFromPage(page, server.getPort(), key);
    await page.waitForFunction(() => (window as any).mmState.connected !== null, undefined, { timeout: 10_000 });
    expect(await page.evaluate(() => (window as any).mmState.connected)).toBe(true);

    const events: MmEvent[] = [];
    await pollUntil(server, events, (e) => e.some((x) => x.type === EventType.CONNECT));
    const conn = events.find((x) => x.type === EventType.CONNECT)!.object as Connection;

    // Page -> Node, in order.
    const sent = await page.evaluate((tables) => tables.map((t: unknown) => (window as any).mmClient.send(t)), TABLES as unknown[]);
    expect(sent.every(Boolean)).toBe(true);
    await pollUntil(server, events, (e) => e.filter((x) => x.type === EventType.RECEIVE).length === TABLES.length);
    const atNode = events.filter((x) => x.type === EventType.RECEIVE).map((x) => (x as { packet: Table }).packet);
    expect(atNode).toEqual(TABLES);
    for (const ev of events) expect(ev.object === conn || ev.object === server).toBe(true);

    // Node -> page: send to the connection, then one broadcast.
    for (const table of TABLES) expect(server.send(table, conn)).toBe(1);
    expect(server.broadcast({ everyone: true })).toBe(1);
    await page.waitForFunction((n) => (window as any).mmState.received.length >= n, TABLES.length + 1, { timeout: 10_000 });
    const atPage = await page.evaluate(() => (window as any).mmState);
    expect(atPage.received).toEqual([...TABLES, { everyone: true }]);
    expect(atPage.errors).toEqual([]);

    // The page disconnects: the server sees CLIENT_CLOSE for that connection.
    await page.evaluate(() => (window as any).mmClient.disconnect());
    await pollUntil(server, events, (e) => e.some((x) => x.type === EventType.CLIENT_CLOSE));
    expect(events.find((x) => x.type === EventType.CLIENT_CLOSE)!.object).toBe(conn);
    expect(events.filter((x) => x.type === EventType.ERROR)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('fails on both sides with "authentication failed" when the page has the wrong key', async () => {
    const server = await Server.listen('127.0.0.1', 0, KEY128, { ownQueue: true });
    servers.push(server);
    const { page } = await openHarness(browser, files, 'wrong-key page');
    pages.push(page);
    await connectFromPage(page, server.getPort(), OTHER128);
    await page.waitForFunction(() => (window as any).mmState.connected !== null, undefined, { timeout: 10_000 });
    const events: MmEvent[] = [];
    await pollUntil(server, events, (e) => e.some((x) => x.type === EventType.ERROR));
    expect((events.find((x) => x.type === EventType.ERROR) as { error: string }).error).toMatch(/authentication failed/);
    await page.waitForFunction(() => (window as any).mmState.errors.length > 0 || (window as any).mmState.connected === false, undefined, { timeout: 10_000 });
    const atPage = await page.evaluate(() => (window as any).mmState);
    expect(atPage.received).toEqual([]);
    expect(atPage.errors.join(' ')).toMatch(/authentication failed/);
    expect(server.connectionCount()).toBe(0);
  });

  it('a page with no key is told the server has one', async () => {
    const server = await Server.listen('127.0.0.1', 0, KEY256, { ownQueue: true });
    servers.push(server);
    const { page } = await openHarness(browser, files, 'no-key page');
    pages.push(page);
    await connectFromPage(page, server.getPort(), undefined);
    await page.waitForFunction(() => (window as any).mmState.connected === false, undefined, { timeout: 10_000 });
    const atPage = await page.evaluate(() => (window as any).mmState);
    expect(atPage.errors.join(' ')).toMatch(/key/);
  });
  it('without WebCrypto (an insecure context), a keyed client fails to connect and says why', async () => {
    const server = await Server.listen('127.0.0.1', 0, KEY128, { ownQueue: true });
    servers.push(server);
    const { page } = await openHarness(browser, files, 'insecure page');
    pages.push(page);
    // What a plain-http page from a LAN address sees: no crypto.subtle.
    await page.evaluate(() => Object.defineProperty(Crypto.prototype, 'subtle', { get: () => undefined, configurable: true }));
    await connectFromPage(page, server.getPort(), KEY128);
    await page.waitForFunction(() => (window as any).mmState.connected === false, undefined, { timeout: 10_000 });
    const atPage = await page.evaluate(() => (window as any).mmState);
    expect(atPage.errors.join(' ')).toMatch(/secure context/);
  });
});
