import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { PeoteClient, PeoteServer, RpcTypes, defineRemote, destroyAllJointConnections } from '../../src/peote/index.js';
import { Relay } from '../../src/relay/index.js';
import { HAS_CHROMIUM, CHROMIUM_SKIP_REASON, ensureBrowserBundle, launchChromium, openHarness, seededBytes, serveBundleAndPages, type StaticServer } from './harness.js';

/** Chunk sizes both ways: the varint prefix widths, the 32765-byte frame split, maxChunkSize. */
const SIZES = [1, 2, 127, 128, 129, 255, 256, 1000, 16383, 16384, 16385, 32764, 32765, 32766, 32767, 32768];
/** Plus seeded random sizes up to maxChunkSize. */
function sizes(seed: number, count: number): number[] {
  const random = seededBytes(seed);
  const out = [...SIZES];
  for (let i = 0; i < count; i++) {
    const [a, b] = random(2);
    out.push(1 + (((a! << 8) | b!) % 32768));
  }
  return out;
}
const PAGE_SEED = 0x5eed0001;
const NODE_SEED = 0x5eed0002;

interface Deferred<T> { promise: Promise<T>; resolve(value: T): void; reject(err: Error): void }
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Index of the first differing byte, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe.skipIf(!HAS_CHROMIUM)(`peote in Chromium through the gamewire relay (WebSocket)${CHROMIUM_SKIP_REASON}`, () => {
  let browser: Browser;
  let files: StaticServer;
  let relay: Relay;
  const cleanups: Array<() => unknown> = [];
  beforeAll(async () => {
    ensureBrowserBundle();
    [browser, files, relay] = await Promise.all([launchChromium(), serveBundleAndPages(), Relay.listen({ host: '127.0.0.1', port: 0, logLevel: 'error' })]);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await browser?.close();
    await files?.close();
    destroyAllJointConnections();
    await relay?.close();
  });

  /** A Node owner of `jointId` that checks every chunk against PAGE_SEED and records users. */
  async function createOwner(jointId: string, expectedSizes: number[]) {
    const expect = seededBytes(PAGE_SEED);
    const state = { users: [] as number[], received: 0, receivedBytes: 0, errors: [] as string[], done: deferred<void>(), joined: deferred<number>(), left: deferred<[number, number]>() };
    const created = deferred<void>();
    const owner = new PeoteServer({
      onCreate: () => created.resolve(),
      onError: (_s: PeoteServer, userNr: number, reason: number) => {
        state.errors.push(`owner error user ${userNr} reason ${reason}`);
        created.reject(new Error(`create failed: ${reason}`));
      },
      onUserConnect: (_s: PeoteServer, userNr: number) => {
        state.users.push(userNr);
        state.joined.resolve(userNr);
      },
      onUserDisconnect: (_s: PeoteServer, userNr: number, reason: number) => state.left.resolve([userNr, reason]),
      onDataChunk: (_s: PeoteServer, userNr: number, bytes: Uint8Array) => {
        const size = expectedSizes[state.received];
        if (size === undefined) {
          state.errors.push(`unexpected chunk ${state.received} from user ${userNr}`);
          return;
        }
        const want = expect(size);
        const at = firstDifference(bytes, want);
        if (at >= 0) state.errors.push(`chunk ${state.received} (${size} bytes, got ${bytes.length}) differs at byte ${at}`);
        state.received++;
        state.receivedBytes += bytes.length;
        if (state.received === expectedSizes.length) state.done.resolve();
      },
    });
    owner.create('127.0.0.1', relay.port, jointId);
    cleanups.push(() => owner.delete());
    await created.promise;
    return { owner, state };
  }

  /** In the page: enter the joint, record chunks checked against `seed`. */
  async function enterFromPage(page: Page, port: number, jointId: string, expectedSizes: number[]) {
    await page.evaluate(
      ({ port, jointId, expectedSizes, seed }) =>
        new Promise<void>((entered, failed) => {
          const gw = (window as any).gamewire;
          const expect = (window as any).seededBytes(seed);
          const state = ((window as any).peoteState = { received: 0, receivedBytes: 0, errors: [] as string[], disconnected: -1 });
          const client = new gw.PeoteClient({
            onEnter: () => entered(),
            onError: (_c: unknown, reason: number) => failed(new Error(`enter failed: ${gw.Reason.toString(reason)}`)),
            onDisconnect: (_c: unknown, reason: number) => (state.disconnected = reason),
            onDataChunk: (_c: unknown, bytes: Uint8Array) => {
              const size = expectedSizes[state.received];
              if (size === undefined) {
                state.errors.push(`unexpected chunk ${state.received}`);
                return;
              }
              const want: Uint8Array = expect(size);
              if (bytes.length !== size) state.errors.push(`chunk ${state.received}: ${bytes.length} bytes, want ${size}`);
              else for (let i = 0; i < size; i++) if (bytes[i] !== want[i]) { state.errors.push(`chunk ${state.received} differs at byte ${i}`); break; }
              state.received++;
              state.receivedBytes += bytes.length;
            },
          });
          (window as any).peoteClient = client;
          client.enter('127.0.0.1', port, jointId);
        }),
      { port, jointId, expectedSizes, seed: NODE_SEED },
    );
  }

  it('a page enters a Node-owned joint and both exchange chunks up to maxChunkSize, every byte checked', async () => {
    const toNode = sizes(PAGE_SEED ^ 0xabc, 24);
    const toPage = sizes(NODE_SEED ^ 0xabc, 24);
    const { owner, state } = await createOwner('browser-chunks', toNode);
    const { page, problems } = await openHarness(browser, files, 'peote page');
    cleanups.push(() => page.close());
    await enterFromPage(page, relay.port, 'browser-chunks', toPage);
    const userNr = await state.joined.promise;

    // Page -> Node: every chunk generated in the page, checked byte by byte in Node.
    await page.evaluate(
      ({ sizes, seed }) => {
        const next = (window as any).seededBytes(seed);
        for (const size of sizes) (window as any).peoteClient.sendChunk(next(size));
      },
      { sizes: toNode, seed: PAGE_SEED },
    );
    // Node -> page: the same the other way.
    const next = seededBytes(NODE_SEED);
    for (const size of toPage) owner.sendChunk(userNr, next(size));

    await state.done.promise;
    await page.waitForFunction((n) => (window as any).peoteState.received >= n, toPage.length, { timeout: 15_000 });
    const pageState = await page.evaluate(() => (window as any).peoteState);
    expect(state.errors).toEqual([]);
    expect(pageState.errors).toEqual([]);
    expect(state.receivedBytes).toBe(toNode.reduce((a, b) => a + b, 0));
    expect(pageState.receivedBytes).toBe(toPage.reduce((a, b) => a + b, 0));
    expect(problems).toEqual([]);
  });

  it('the owner sees the page leave, and the page sees the owner delete the joint', async () => {
    const { state } = await createOwner('browser-leave', []);
    const { page, problems } = await openHarness(browser, files, 'leave page');
    cleanups.push(() => page.close());
    await enterFromPage(page, relay.port, 'browser-leave', []);
    const first = await state.joined.promise;
    await page.evaluate(() => (window as any).peoteClient.leave());
    expect(await state.left.promise).toEqual([first, 0]); // Reason.DISCONNECT: the user left (joint.md §14)

    const again = await createOwner('browser-leave-2', []);
    await enterFromPage(page, relay.port, 'browser-leave-2', []);
    await again.state.joined.promise;
    again.owner.delete();
    await page.waitForFunction(() => (window as any).peoteState.disconnected >= 0, undefined, { timeout: 10_000 });
    expect(await page.evaluate(() => (window as any).peoteState.disconnected)).toBe(0); // DISCONNECT: deleted
    expect(problems).toEqual([]);
  });
  it('a page owns a joint that a Node client enters, and chunks flow both ways', async () => {
    const toNode = sizes(0x1234, 8);
    const { page, problems } = await openHarness(browser, files, 'owner page');
    cleanups.push(() => page.close());
    // The page creates the joint and echoes every chunk back to its sender, checking it first.
    await page.evaluate(
      ({ port, expectedSizes, seed }) =>
        new Promise<void>((created, failed) => {
          const gw = (window as any).gamewire;
          const expect = (window as any).seededBytes(seed);
          const state = ((window as any).ownerState = { received: 0, errors: [] as string[] });
          const owner = new gw.PeoteServer({
            onCreate: () => created(),
            onError: (_s: unknown, userNr: number, reason: number) => {
              state.errors.push(`error ${userNr} ${gw.Reason.toString(reason)}`);
              failed(new Error(`create failed: ${gw.Reason.toString(reason)}`));
            },
            onUserConnect: () => {},
            onUserDisconnect: () => {},
            onDataChunk: (_s: unknown, userNr: number, chunk: Uint8Array) => {
              const want: Uint8Array = expect(expectedSizes[state.received] ?? 0);
              if (chunk.length !== want.length || chunk.some((b, i) => b !== want[i])) state.errors.push(`chunk ${state.received} differs`);
              state.received++;
              owner.sendChunk(userNr, chunk);
            },
          });
          (window as any).peoteOwner = owner;
          owner.create('127.0.0.1', port, 'page-owned');
        }),
      { port: relay.port, expectedSizes: toNode, seed: 0x77 },
    );
    cleanups.push(() => page.evaluate(() => (window as any).peoteOwner.delete()));

    const echoes: Uint8Array[] = [];
    const entered = deferred<void>();
    const client = new PeoteClient({
      onEnter: () => entered.resolve(),
      onError: (_c: PeoteClient, reason: number) => entered.reject(new Error(`enter failed: ${reason}`)),
      onDataChunk: (_c: PeoteClient, chunk: Uint8Array) => echoes.push(chunk),
    });
    client.enter('127.0.0.1', relay.port, 'page-owned');
    cleanups.push(() => client.leave());
    await entered.promise;
    const next = seededBytes(0x77);
    const sent = toNode.map((size) => next(size));
    for (const chunk of sent) client.sendChunk(chunk);
    const deadline = Date.now() + 10_000;
    while (echoes.length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(echoes.length).toBe(sent.length);
    for (const [i, chunk] of sent.entries()) expect(firstDifference(echoes[i]!, chunk)).toBe(-1);
    expect(await page.evaluate(() => (window as any).ownerState.errors)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('RPC: a page calls a Node remote object and the Node owner calls the page\'s', async () => {
    const Lobby = defineRemote({ say: [RpcTypes.string, RpcTypes.bool], move: [RpcTypes.int16, RpcTypes.int16, RpcTypes.array(RpcTypes.double)] });
    const calls: unknown[][] = [];
    const created = deferred<void>();
    const pageRemote = deferred<[number, number]>();
    const owner: PeoteServer = new PeoteServer({
      onCreate: () => created.resolve(),
      onUserConnect: (_s: PeoteServer, userNr: number) =>
        owner.setRemote(userNr, Lobby.implement({ say: (text, loud) => calls.push(['say', text, loud]), move: (x, y, path) => calls.push(['move', x, y, path]) })),
      onRemote: (_s: PeoteServer, userNr: number, remoteId: number) => pageRemote.resolve([userNr, remoteId]),
      onError: (_s: PeoteServer, userNr: number, reason: number) => calls.push(['error', userNr, reason]),
    });
    owner.create('127.0.0.1', relay.port, 'browser-rpc');
    cleanups.push(() => owner.delete());
    await created.promise;

    const { page, problems } = await openHarness(browser, files, 'rpc page');
    cleanups.push(() => page.close());
    await page.evaluate(
      ({ port }) =>
        new Promise<void>((ready, failed) => {
          const gw = (window as any).gamewire;
          const T = gw.RpcTypes;
          const Lobby = gw.defineRemote({ say: [T.string, T.bool], move: [T.int16, T.int16, T.array(T.double)] });
          const Screen = gw.defineRemote({ show: [T.string, T.int32] });
          const shown = ((window as any).shown = [] as unknown[]);
          const client = new gw.PeoteClient({
            onEnter: (c: any) => c.setRemote(Screen.implement({ show: (text: string, n: number) => shown.push([text, n]) }), 3),
            onRemote: (c: any, remoteId: number) => {
              const lobby = c.proxy(Lobby, remoteId);
              lobby.say('héllo from the page', true);
              lobby.move(-12, 300, [0.5, -1.25, 1e100]);
              ready();
            },
            onError: (_c: unknown, reason: number) => failed(new Error(`rpc client error ${gw.Reason.toString(reason)}`)),
          });
          (window as any).rpcClient = client;
          client.enter('127.0.0.1', port, 'browser-rpc');
        }),
      { port: relay.port },
    );
    const [userNr, remoteId] = await pageRemote.promise;
    expect(remoteId).toBe(3);
    const Screen = defineRemote({ show: [RpcTypes.string, RpcTypes.int32] });
    owner.proxy(userNr, Screen, remoteId).show('from Node ✓', -5);
    await page.waitForFunction(() => (window as any).shown.length > 0, undefined, { timeout: 10_000 });
    expect(await page.evaluate(() => (window as any).shown)).toEqual([['from Node ✓', -5]]);
    const deadline = Date.now() + 5000;
    while (calls.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual([
      ['say', 'héllo from the page', true],
      ['move', -12, 300, [0.5, -1.25, 1e100]],
    ]);
    expect(problems).toEqual([]);
  });
});
