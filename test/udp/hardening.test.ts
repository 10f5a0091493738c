import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeHello } from '../../src/udp/words.js';
import type { UdpPipe } from '../../src/udp/index.js';
import { Bag, record, sleep, until, type Rec } from './harness.js';

const bag = new Bag();
afterEach(() => bag.close());

/** A raw UDP socket that records what it receives. */
async function raw(): Promise<{ sock: Socket; got: Array<{ text: string; port: number }>; send: (data: string | Buffer, port: number) => void }> {
  const sock = createSocket('udp4');
  const got: Array<{ text: string; port: number }> = [];
  sock.on('message', (m, r) => got.push({ text: m.toString('latin1'), port: r.port }));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  bag.defer(() => sock.close());
  return { sock, got, send: (data, port) => sock.send(data, port, '127.0.0.1') };
}

const hello = (token: string, pad = 64): Buffer => encodeHello(Buffer.from(token, 'latin1'), pad);
const internalSessions = (pipe: object): number => (pipe as unknown as { core: { sessions: Map<string, unknown> } }).core.sessions.size;

/** A recorded server on 127.0.0.1 and a client whose session it has accepted. */
async function connectedPair(): Promise<{ server: UdpPipe; slog: Rec[]; client: UdpPipe }> {
  const server = bag.pipe();
  const slog = record(server);
  const port = await server.start(0, '127.0.0.1');
  const client = bag.pipe();
  client.connect('127.0.0.1', port);
  await until(() => server.clients.length === 1);
  return { server, slog, client };
}

describe('hardening', () => {
  it('refuses a bad token with one GO AWAY!, fires onBadToken, allocates nothing', async () => {
    const server = bag.pipe();
    const slog = record(server);
    const port = await server.start(0, '127.0.0.1');
    const r = await raw();
    r.send(hello('wrong-token'), port);
    r.send(hello('test-token-but-longer'), port);
    r.send(hello('test-toke'), port);
    await until(() => r.got.length === 3);
    await sleep(20);
    expect(r.got.map((g) => g.text)).toEqual(['GO AWAY!', 'GO AWAY!', 'GO AWAY!']);
    expect(slog.filter((x) => x[0] === 'badToken').length).toBe(3);
    expect(internalSessions(server)).toBe(0);
    expect(server.stats().refused).toBe(3);
  });

  it('a client with a bad token disconnects with "refused"; refusalReasons tells it why', async () => {
    const server = bag.pipe({ refusalReasons: true });
    const port = await server.start(0, '127.0.0.1');
    const client = bag.pipe({ token: 'nope' });
    const clog = record(client);
    client.connect('127.0.0.1', port);
    await until(() => clog.some((x) => x[0] === 'disconnect'));
    expect(clog.map((x) => x[0])).toEqual(['badToken', 'disconnect']);
    expect(clog[1]![1]).toBe('refused');
  });

  it('refuses past maxClients with GO AWAY! and onMaxClients', async () => {
    const server = bag.pipe({ maxClients: 2, refusalReasons: true });
    const slog = record(server);
    const port = await server.start(0, '127.0.0.1');
    const clients = [bag.pipe(), bag.pipe()];
    for (const c of clients) c.connect('127.0.0.1', port);
    await until(() => server.clients.length === 2);
    const third = bag.pipe();
    const tlog = record(third);
    third.connect('127.0.0.1', port);
    await until(() => tlog.some((x) => x[0] === 'disconnect'));
    expect(tlog.map((x) => x[0])).toEqual(['maxClients', 'disconnect']);
    expect(slog.filter((x) => x[0] === 'maxClients').length).toBe(1);
    expect(internalSessions(server)).toBe(2);
  });

  it('sends no reply larger than its request', async () => {
    const server = bag.pipe({ token: 'tk', autoPing: false });
    const slog = record(server);
    const port = await server.start(0, '127.0.0.1');
    const r = await raw();
    r.send('HELLO x', port); // 7 B: GO AWAY! (8 B) would amplify
    r.send('HELLO tk', port); // right token, but CONNECT 127.0.0.1 <port> is longer
    await sleep(60);
    expect(r.got).toEqual([]);
    expect(slog.map((x) => x[0])).toEqual(['badToken']);
    expect(internalSessions(server)).toBe(0);
    expect(server.stats().repliesSuppressed).toBe(2);
    // a padded HELLO gets its CONNECT; a bare 7-byte CONNECT gets no CONNECTED, a padded one does
    r.send(hello('tk'), port);
    await until(() => r.got.length === 1);
    const scPort = Number(r.got[0]!.text.split(' ')[2]);
    r.send('CONNECT', scPort);
    await sleep(40);
    expect(r.got.length).toBe(1);
    expect(slog.map((x) => x[0])).toEqual(['badToken']); // still half-open
    r.send('CONNECT  ', scPort);
    await until(() => r.got.length === 2);
    expect(r.got[1]).toEqual({ text: 'CONNECTED', port: scPort });
    expect(slog.map((x) => x[0])).toEqual(['badToken', 'newClient']);
    // PING → PONG is the same size; CLOSE → CLOSED only when padded
    r.send('PING', scPort);
    await until(() => r.got.some((g) => g.text === 'PONG'));
  });

  it('answers a bare CONNECT when strictReplySize is off (original clients)', async () => {
    const server = bag.pipe({ token: 'tk', strictReplySize: false });
    const port = await server.start(0, '127.0.0.1');
    const r = await raw();
    r.send('HELLO tk', port);
    await until(() => r.got.length === 1);
    expect(r.got[0]!.text).toMatch(/^CONNECT 127\.0\.0\.1 \d+$/);
    const scPort = Number(r.got[0]!.text.split(' ')[2]);
    r.send('CONNECT', scPort);
    await until(() => r.got.length === 2);
    expect(r.got[1]!.text).toBe('CONNECTED');
    r.send('CLOSE', scPort);
    await until(() => r.got.length === 3);
    expect(r.got[2]!.text).toBe('CLOSED');
  });

  it('answers a repeated CLOSE with CLOSED while lingering, and nothing once released', async () => {
    const server = bag.pipe({ autoPing: false });
    const slog = record(server);
    const port = await server.start(0, '127.0.0.1');
    const r = await raw();
    r.send(hello('test-token'), port);
    await until(() => r.got.length === 1);
    const scPort = Number(r.got[0]!.text.split(' ')[2]);
    r.send('CONNECT  ', scPort);
    await until(() => r.got.length === 2);
    r.send('CLOSE ', scPort);
    r.send('CLOSE ', scPort);
    await until(() => r.got.length === 4);
    expect(r.got.slice(2).map((g) => g.text)).toEqual(['CLOSED', 'CLOSED']);
    expect(slog.map((x) => x[0])).toEqual(['newClient', 'close', 'disconnect']);
    // lingering ends after (handshakeRetries + 1) × handshakeRetryMs; then the SC socket is gone
    await until(() => internalSessions(server) === 0, 3000);
  });

  it('caps half-open handshakes and frees them at the handshake deadline', async () => {
    const server = bag.pipe({ maxHalfOpen: 2, handshakeTimeoutMs: 150 });
    const slog = record(server);
    const port = await server.start(0, '127.0.0.1');
    const socks = await Promise.all([raw(), raw(), raw(), raw()]);
    for (const s of socks) s.send(hello('test-token'), port);
    await until(() => socks.filter((s) => s.got.length > 0).length === 2);
    await sleep(30);
    expect(socks.filter((s) => s.got.length > 0).length).toBe(2);
    expect(server.stats().halfOpenDropped).toBe(2);
    await until(() => server.stats().handshakeTimeouts === 2, 2000);
    expect(internalSessions(server)).toBe(0);
    expect(slog).toEqual([]); // a half-open session is never announced
  });

  it('repeated HELLOs from one address get the same CONNECT and one SC', async () => {
    const server = bag.pipe();
    const port = await server.start(0, '127.0.0.1');
    const r = await raw();
    r.send(hello('test-token'), port);
    await until(() => r.got.length === 1);
    r.send(hello('test-token'), port);
    r.send(hello('test-token'), port);
    await until(() => r.got.length === 3);
    expect(new Set(r.got.map((g) => g.text)).size).toBe(1);
    expect(internalSessions(server)).toBe(1);
  });

  it('rate-limits HELLOs per source IP', async () => {
    const server = bag.pipe({ helloRatePerSecond: 3 });
    const port = await server.start(0, '127.0.0.1');
    const r = await raw();
    for (let i = 0; i < 6; i++) r.send(hello('bad-token'), port);
    await until(() => r.got.length === 3);
    await sleep(40);
    expect(r.got.length).toBe(3);
    expect(server.stats().rateLimited).toBe(3);
  });

  it('ignores datagrams from unknown addresses on a session socket', async () => {
    const { server, slog, client } = await connectedPair();
    const scPort = client.session!.port;
    const r = await raw();
    const before = server.stats().ignored;
    r.send('PING', scPort);
    r.send('CLOSE ', scPort);
    r.send('some data', scPort);
    await until(() => server.stats().ignored === before + 3);
    await sleep(20);
    expect(r.got).toEqual([]);
    expect(slog.some((x) => x[0] === 'message' || x[0] === 'close')).toBe(false);
    expect(server.clients.length).toBe(1);
  });

  it('survives garbage on S and oversize datagrams on a session', async () => {
    const server = bag.pipe();
    const slog = record(server);
    const port = await server.start(0, '127.0.0.1');
    const r = await raw();
    let seed = 99;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const words = ['CONNECT', 'CONNECTED', 'PING', 'PONG', 'CLOSE', 'CLOSED', 'GO AWAY!', 'HELLO', 'HELLO ', ''];
    for (let i = 0; i < 100; i++) r.send(Buffer.from(Array.from({ length: rnd() % 80 }, rnd)), port);
    for (const w of words) r.send(w, port);
    const client = bag.pipe({ maxDatagramBytes: 3000 });
    client.connect('127.0.0.1', port);
    await until(() => server.clients.length === 1);
    client.send(Buffer.alloc(1500, 7));
    client.send('after');
    await until(() => slog.some((x) => x[0] === 'message'));
    expect(slog.filter((x) => x[0] === 'error')).toEqual([['error', 'GW_ERR_UDP_OVERSIZE']]);
    expect(slog.filter((x) => x[0] === 'message').map((x) => x[1])).toEqual(['after']);
    expect(r.got.every((g) => g.text.startsWith('GO AWAY!'))).toBe(true);
    expect(server.stats().oversize).toBe(1);
    expect(server.clients.length).toBe(1);
  });

  it('a client drops a malformed CONNECT reply with onError and takes the next good one', async () => {
    // a fake server: first a malformed reply, then the address of a socket that answers CONNECTED
    const sc = await raw();
    sc.sock.on('message', (m, r) => {
      if (m.toString().startsWith('CONNECT')) sc.sock.send('CONNECTED', r.port, '127.0.0.1');
    });
    let helloCount = 0;
    const s = await raw();
    s.sock.on('message', (_m, r) => {
      helloCount++;
      const reply = helloCount === 1 ? 'CONNECT not-an-ip 12' : `CONNECT 127.0.0.1 ${sc.sock.address().port}`;
      s.sock.send(reply, r.port, '127.0.0.1');
    });
    const client = bag.pipe();
    const clog = record(client);
    client.connect('127.0.0.1', s.sock.address().port);
    await until(() => client.session!.open);
    expect(clog.map((x) => x[0])).toEqual(['error', 'connecting', 'connect']);
    expect(clog[0]![1]).toBe('GW_ERR_UDP_MALFORMED');
  });

  it('bounds the step-mode inbox and counts what it drops', async () => {
    const server = bag.pipe({ mode: 'step', maxInboxCount: 10 });
    const port = await server.start(0, '127.0.0.1');
    const r = await raw();
    for (let i = 0; i < 30; i++) r.send('junk', port);
    await until(() => server.getReceivedPackets() === 30);
    expect(server.stats().inboxDropped).toBe(20);
    expect(server.step()).toBe(10);
    expect(server.stats().ignored).toBe(10);
  });

  it('classifies words exactly: data that only resembles a word is data', async () => {
    const { slog, client } = await connectedPair();
    for (const m of ['ping', 'PINGS', 'PIN', ' PING', 'CLOSEDX', 'HELLOx', 'CONNECTION']) client.send(m);
    await until(() => slog.filter((x) => x[0] === 'message').length === 7);
    for (const m of ['PING', 'PING x', 'CLOSE', 'CONNECT 1.2.3.4 5', 'HELLO you', 'GO AWAY!']) expect(() => client.send(m)).toThrow(RangeError);
  });
});

describe('application callbacks that throw', () => {
  it('are caught, reported with GW_ERR_UDP_CALLBACK, and the pipe keeps serving', async () => {
    const server = bag.pipe();
    const errors: Array<{ code: string; message: string; cause: unknown }> = [];
    server.onError = (e) => errors.push({ code: e.code, message: e.message, cause: e.cause });
    const got: string[] = [];
    server.onNewClient = () => {
      throw new Error('bad onNewClient');
    };
    server.onPing = () => {
      throw new Error('bad onPing');
    };
    server.onNewMessage = (m, s) => {
      got.push(m.toString());
      server.send(`echo ${m.toString()}`, s);
      if (m.toString() === 'boom') throw new Error('bad onNewMessage');
    };
    const port = await server.start(0, '127.0.0.1');
    const client = bag.pipe();
    const echoes: string[] = [];
    client.onConnect = () => {
      throw new TypeError('bad onConnect');
    };
    client.onNewMessage = (m) => {
      echoes.push(m.toString());
      throw new Error('bad client onNewMessage');
    };
    const clientErrors: string[] = [];
    client.onError = (e) => clientErrors.push(`${e.code} ${e.message}`);
    client.connect('127.0.0.1', port);
    await until(() => server.clients.length === 1 && client.session?.open === true);
    client.send('boom');
    client.send('after');
    await until(() => echoes.length === 2 && got.length === 2);
    await until(() => errors.some((e) => e.message.startsWith('onPing threw')), 3000, 'a ping');
    expect(got).toEqual(['boom', 'after']);
    expect(echoes.sort()).toEqual(['echo after', 'echo boom']);
    expect(errors.every((e) => e.code === 'GW_ERR_UDP_CALLBACK')).toBe(true);
    expect(errors.map((e) => e.message)).toContain('onNewClient threw: bad onNewClient');
    expect(errors.map((e) => e.message)).toContain('onNewMessage threw: bad onNewMessage');
    expect((errors.find((e) => e.message.startsWith('onNewMessage'))!.cause as Error).message).toBe('bad onNewMessage');
    expect(clientErrors).toContain('GW_ERR_UDP_CALLBACK onConnect threw: bad onConnect');
    expect(clientErrors.filter((e) => e.includes('client onNewMessage')).length).toBe(2);
    expect(server.stats().callbackErrors).toBeGreaterThanOrEqual(3);
    expect(server.clients.length).toBe(1);
  });

  it('an onError that throws is only logged; without onError the verbose log gets the line', async () => {
    const lines: string[] = [];
    const server = bag.pipe({ verbose: (l) => lines.push(l) });
    server.onNewMessage = () => {
      throw new Error('no handler');
    };
    const port = await server.start(0, '127.0.0.1');
    const client = bag.pipe();
    client.connect('127.0.0.1', port);
    await until(() => server.clients.length === 1);
    client.send('one');
    await until(() => lines.some((l) => l === 'onNewMessage threw: no handler'));
    server.onError = () => {
      throw new Error('onError is broken too');
    };
    client.send('two');
    await until(() => lines.some((l) => l === 'onError threw: onError is broken too'));
    expect(server.stats().callbackErrors).toBe(2);
    expect(server.stats().dataReceived).toBe(2);
    expect(server.clients.length).toBe(1);
  });

  it('without onError and without a log: one process warning per pipe', async () => {
    // Captured, not printed: this warning is the expected outcome here, and on stderr it would
    // read as a real bug in the test output (issue 16 item 12).
    const warnings: { message: string }[] = [];
    const emit = vi.spyOn(process, 'emitWarning').mockImplementation(((warning: string | Error, type?: unknown) => {
      if (type === 'GamewireUdpCallbackWarning') warnings.push({ message: String(warning) });
    }) as typeof process.emitWarning);
    bag.defer(() => emit.mockRestore());
    const server = bag.pipe({ verbose: false });
    server.onNewMessage = () => {
      throw new Error('quiet bug');
    };
    const port = await server.start(0, '127.0.0.1');
    const client = bag.pipe();
    client.connect('127.0.0.1', port);
    await until(() => server.clients.length === 1);
    for (const m of ['a', 'b', 'c']) client.send(m);
    await until(() => server.stats().callbackErrors === 3 && warnings.length > 0);
    await sleep(20);
    expect(warnings.length).toBe(1);
    expect(warnings[0]!.message).toMatch(/onNewMessage threw and was caught: quiet bug/);
  });

  it('in step mode a throwing callback does not escape step()', async () => {
    const server = bag.pipe({ mode: 'step' });
    const errors: string[] = [];
    server.onError = (e) => errors.push(e.code);
    server.onNewClient = () => {
      throw new Error('x');
    };
    const port = await server.start(0, '127.0.0.1');
    const client = bag.pipe();
    client.connect('127.0.0.1', port);
    const end = Date.now() + 3000;
    while (server.clients.length === 0 && Date.now() < end) {
      await server.wait(20);
      expect(() => server.step()).not.toThrow();
    }
    expect(server.clients.length).toBe(1);
    expect(errors).toEqual(['GW_ERR_UDP_CALLBACK']);
  });
});

describe('step-mode inbox bytes and wait()', () => {
  it('bounds the inbox by bytes (maxInboxBytes), counts the drops, and frees the room at step()', async () => {
    const server = bag.pipe({ mode: 'step', maxInboxBytes: 4000 });
    const port = await server.start(0, '127.0.0.1');
    const r = await raw();
    const junk = Buffer.alloc(1000, 0x41);
    for (let i = 0; i < 10; i++) r.send(junk, port);
    await until(() => server.getReceivedPackets() === 10);
    expect(server.stats().inboxDropped).toBe(6);
    expect(server.step()).toBe(4);
    for (let i = 0; i < 3; i++) r.send(junk, port);
    await until(() => server.getReceivedPackets() === 13);
    expect(server.stats().inboxDropped).toBe(6);
    expect(server.step()).toBe(3);
  });

  it('checks maxInboxBytes against maxDatagramBytes', () => {
    expect(() => bag.pipe({ maxInboxBytes: 1000 })).toThrow(/maxInboxBytes must be ≥ maxDatagramBytes/);
    expect(() => bag.pipe({ maxInboxBytes: 0 })).toThrow(RangeError);
    expect(() => bag.pipe({ maxInboxBytes: 2000, maxDatagramBytes: 2000 })).not.toThrow();
  });

  it('wait() resolves when a datagram arrives, without polling timers', async () => {
    const server = bag.pipe({ mode: 'step' });
    const port = await server.start(0, '127.0.0.1');
    const r = await raw();
    const realSetTimeout = globalThis.setTimeout;
    let timers = 0;
    globalThis.setTimeout = ((...a: Parameters<typeof setTimeout>) => {
      timers++;
      return realSetTimeout(...a);
    }) as typeof setTimeout;
    let waited: number;
    try {
      const t0 = performance.now();
      const w = server.wait(5000);
      realSetTimeout(() => r.send('x', port), 60);
      await w;
      waited = performance.now() - t0;
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    expect(waited).toBeLessThan(2000);
    // The timeout of wait() itself; a 1 ms poll would have set ~60 over the 60 ms. (A little
    // slack for timers the test runner may set meanwhile.)
    expect(timers).toBeLessThanOrEqual(3);
    expect(server.step()).toBe(1);
  });

  it('wait() resolves at its timeout, and at once on destroy()', async () => {
    const server = bag.pipe({ mode: 'step' });
    await server.start(0, '127.0.0.1');
    const t0 = performance.now();
    await server.wait(40);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    const t1 = performance.now();
    const w = server.wait(5000);
    server.destroy();
    await w;
    expect(performance.now() - t1).toBeLessThan(1000);
    await server.wait(5000); // destroyed: at once
  });

  it('wait(Infinity) waits for a datagram instead of firing at once', async () => {
    const server = bag.pipe({ mode: 'step' });
    const port = await server.start(0, '127.0.0.1');
    const r = await raw();
    let resolved = false;
    const w = server.wait(Number.POSITIVE_INFINITY).then(() => (resolved = true));
    await sleep(30);
    expect(resolved).toBe(false);
    r.send('x', port);
    await w;
    expect(server.step()).toBe(1);
  });
});
