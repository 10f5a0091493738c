import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmulatedLink, PeoteClient, PeoteServer, Reason, defineRemote, RpcTypes as T } from '../../src/peote/index.js';
import { installFakeConnector } from './fake-stream.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);

let cleanup: (() => void)[] = [];
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  for (const f of cleanup) f();
  cleanup = [];
  vi.useRealTimers();
});

function server(options: ConstructorParameters<typeof PeoteServer>[0] = {}): PeoteServer {
  const s = new PeoteServer({ offline: true, ...options });
  cleanup.push(() => s.delete());
  return s;
}
function client(options: ConstructorParameters<typeof PeoteClient>[0] = {}): PeoteClient {
  const c = new PeoteClient(options);
  cleanup.push(() => c.leave());
  return c;
}

describe('EmulatedLink delay model (joint.md §13)', () => {
  it('delays by floor(netLag + 1000·len/netSpeed), queuing behind the previous send', async () => {
    const link = new EmulatedLink({ netLagMs: 20, netSpeedBytesPerSec: 1024 * 1024 });
    cleanup.push(() => link.close());
    const seen: string[] = [];
    expect(link.send(1000, () => seen.push('a'))).toBe(20); // floor(20 + 0.95)
    await tick(19);
    expect(seen).toEqual([]);
    await tick(1);
    expect(seen).toEqual(['a']);
    // Serial link: a send 5 ms after a 1 MiB send waits for what remains of it.
    expect(link.send(1024 * 1024, () => seen.push('b'))).toBe(1020);
    await tick(5);
    expect(link.send(0, () => seen.push('c'))).toBe(1015 + 20);
    await tick(1014);
    expect(seen).toEqual(['a']);
    await tick(1);
    expect(seen).toEqual(['a', 'b']);
    await tick(20);
    expect(seen).toEqual(['a', 'b', 'c']);
    // Idle long enough: nothing left to queue behind.
    await tick(1000);
    expect(link.delayFor(2048)).toBe(21);
  });

  it('bounds the queued delay and keeps the order', async () => {
    const link = new EmulatedLink({ netLagMs: 0, netSpeedBytesPerSec: 1000, maxDelayMs: 500 });
    cleanup.push(() => link.close());
    const seen: number[] = [];
    expect(link.send(10_000, () => seen.push(1))).toBe(500);
    expect(link.send(10_000, () => seen.push(2))).toBe(500);
    await tick(500);
    expect(seen).toEqual([1, 2]);
  });

  it('drops queued deliveries on close', async () => {
    const link = new EmulatedLink();
    const seen = vi.fn();
    link.send(1, seen);
    link.close();
    await tick(100);
    expect(seen).not.toHaveBeenCalled();
    expect(link.send(1, seen)).toBe(0);
  });

  it('rejects bad options', () => {
    expect(() => new EmulatedLink({ netLagMs: -1 })).toThrow(RangeError);
    expect(() => new EmulatedLink({ netSpeedBytesPerSec: 0 })).toThrow(RangeError);
  });
});

describe('offline PeoteServer and local PeoteClients (joint.md §13)', () => {
  it('opens no connection; onCreate after netLag; jointNr from 128', async () => {
    const fake = installFakeConnector();
    cleanup.push(fake.restore);
    const created = vi.fn();
    const a = server({ netLag: 10, onCreate: created });
    const b = server({ netLag: 10, onCreate: created });
    a.create('host', 1, 'a');
    b.create('host', 1, 'b');
    await tick(9);
    expect(created).not.toHaveBeenCalled();
    await tick(1);
    expect(created).toHaveBeenCalledTimes(2);
    expect([a.jointNr, b.jointNr]).toEqual([128, 129]);
    expect(fake.streams).toHaveLength(0);
    a.delete();
    const c = server({ onCreate: created });
    c.create('host', 1, 'c');
    expect(c.jointNr).toBe(128); // lowest free, reused
  });

  it('a duplicate key fails with ID', async () => {
    const errors: number[] = [];
    server().create('h', 1, 'same');
    server({ onError: (_s, user, r) => errors.push(user, r) }).create('h', 1, 'same');
    await tick(0);
    expect(errors).toEqual([-1, Reason.ID]);
  });

  it('connects local clients after netLag with local numbers (jointNr >= 128, userNr >= 256)', async () => {
    const log: string[] = [];
    const s = server({
      netLag: 10,
      onUserConnect: (_s, u) => log.push(`connect ${u} @${Date.now() - t0}`),
      onDataChunk: () => {},
    });
    const t0 = Date.now();
    s.create('h', 1, 'j');
    const c1 = client({ onEnter: (c) => log.push(`enter ${c.jointNr} @${Date.now() - t0}`), onDataChunk: () => {} });
    const c2 = client({ onEnter: (c) => log.push(`enter ${c.jointNr} @${Date.now() - t0}`), onDataChunk: () => {} });
    c1.enter('h', 1, 'j');
    c2.enter('h', 1, 'j');
    await tick(9);
    expect(log).toEqual([]);
    await tick(1);
    expect(log.sort()).toEqual(['connect 256 @10', 'connect 257 @10', 'enter 128 @10', 'enter 129 @10']);
    expect(s.users).toEqual([256, 257]);
    expect(c1.local).toBe(true);
  });

  it('delivers sends in both directions after the modelled delay, chunks whole', async () => {
    const got: string[] = [];
    const t0 = Date.now();
    const s = server({
      netLag: 10,
      netSpeed: 1000,
      onDataChunk: (sv, u, chunk) => {
        got.push(`server ${u} ${chunk.length} @${Date.now() - t0}`);
        sv.sendChunk(u, chunk.subarray(0, 2));
      },
    });
    s.create('h', 1, 'j');
    const c = client({
      onEnter: (cl) => cl.sendChunk(new Uint8Array(100).fill(1)),
      onDataChunk: (_c, chunk) => got.push(`client ${[...chunk]} @${Date.now() - t0}`),
    });
    c.enter('h', 1, 'j');
    await tick(10);
    // 100-byte chunk + 1 prefix byte: floor(10 + 1000·101/1000) = 111 ms.
    await tick(110);
    expect(got).toEqual([]);
    await tick(1);
    expect(got).toEqual(['server 256 100 @121']);
    // 2 + 1 bytes back: floor(10 + 3) = 13 ms.
    await tick(13);
    expect(got).toEqual(['server 256 100 @121', 'client 1,1 @134']);
  });

  it('broadcast works offline and honours the excluded user; raw mode gets bytes', async () => {
    const got: string[] = [];
    const s = server({ netLag: 1, onData: () => {} });
    s.create('h', 1, 'j');
    const clients = [0, 1, 2].map((i) => client({ onData: (c, b) => got.push(`${i}:${[...b]}`) }));
    for (const c of clients) c.enter('h', 1, 'j');
    await tick(1);
    s.broadcast(bytes(7, 8), 257);
    s.broadcast(bytes(9));
    await tick(5);
    expect(got.sort()).toEqual(['0:7,8', '0:9', '1:9', '2:7,8', '2:9']);
  });

  it('delete gives local clients onDisconnect(DISCONNECT) after the lag, behind earlier sends', async () => {
    const got: string[] = [];
    const s = server({ netLag: 5 });
    s.create('h', 1, 'j');
    const c = client({
      onData: (_c, b) => got.push(`data ${[...b]}`),
      onDisconnect: (cl, r) => got.push(`disconnect ${Reason.toString(r)} ${cl.jointNr}`),
      onError: (_c, r) => got.push(`error ${r}`),
    });
    c.enter('h', 1, 'j');
    await tick(5);
    s.send(256, bytes(1));
    s.delete();
    expect(got).toEqual([]);
    await tick(5);
    expect(got).toEqual(['data 1']);
    await tick(5); // queued behind the send: 5 + 5 ms
    expect(got).toEqual(['data 1', 'disconnect DISCONNECT -1']);
    expect(c.entered).toBe(false);
  });

  it('leave reaches the server after the lag, not at once', async () => {
    const got: string[] = [];
    const s = server({ netLag: 7, onUserDisconnect: (_s, u, r) => got.push(`${u} ${Reason.toString(r)}`) });
    s.create('h', 1, 'j');
    const c = client({ onData: () => {} });
    c.enter('h', 1, 'j');
    await tick(7);
    c.leave();
    await tick(6);
    expect(got).toEqual([]);
    await tick(1);
    expect(got).toEqual(['256 DISCONNECT']);
    expect(s.users).toEqual([]);
  });

  it('RPC both ways, with typed proxies and MALICIOUS on bad calls', async () => {
    const Chat = defineRemote({ say: [T.string, T.int32], ping: [] });
    const Echo = defineRemote({ echo: [T.array(T.double)] });
    const got: unknown[] = [];
    const s = server({
      netLag: 1,
      onUserConnect: (sv, u) => sv.setRemote(u, Chat.implement({ say: (t, n) => got.push(['say', u, t, n]), ping: () => got.push('ping') })),
      onRemote: (sv, u, id) => sv.proxy(u, Echo, id).echo([1.5, -2]),
      onError: (_s, u, r) => got.push(['server error', u, Reason.toString(r)]),
    });
    s.create('h', 1, 'rpc');
    const c = client({
      onRemote: (cl, id) => {
        const chat = cl.proxy(Chat, id);
        chat.say('héllo', 42);
        chat.ping();
        cl.sendChunk(bytes(0, 9)); // unknown function index
        cl.sendChunk(bytes(7, 0)); // unknown remote id
        cl.sendChunk(bytes(0, 1, 0)); // ping with a leftover byte
        cl.setRemote(Echo.implement({ echo: (v) => got.push(['echo', v]) }), 3);
      },
    });
    c.enter('h', 1, 'rpc');
    await tick(20);
    expect(got).toEqual([
      ['say', 256, 'héllo', 42],
      'ping',
      ['server error', 256, 'MALICIOUS'],
      ['server error', 256, 'MALICIOUS'],
      ['server error', 256, 'MALICIOUS'],
      ['echo', [1.5, -2]],
    ]);
  });

  it('the 257th local user gets FULL', async () => {
    const s = server({ netLag: 0 });
    s.create('h', 1, 'full');
    const errors: number[] = [];
    for (let i = 0; i < 257; i++) client({ onError: (_c, r) => errors.push(r) }).enter('h', 1, 'full');
    await tick(1);
    expect(errors).toEqual([Reason.FULL]);
    expect(s.users.length).toBe(256);
    expect(Math.max(...s.users)).toBe(511);
  });

  it('entering twice is misuse', async () => {
    const s = server({ netLag: 0 });
    s.create('h', 1, 'j');
    const c = client();
    c.enter('h', 1, 'j');
    await tick(0);
    expect(() => c.enter('h', 1, 'j')).toThrow(Error);
  });
});

describe('RPC round trip of every argument type (joint.md §12)', () => {
  it('arrives equal, through a local joint', async () => {
    const All = defineRemote({
      all: [T.bool, T.byte, T.int16, T.uint16, T.int32, T.int, T.float, T.double, T.string, T.bytes, T.array(T.array(T.int)), T.map(T.int, T.string), T.intMap(T.bool), T.stringMap(T.array(T.double))],
    });
    const args = [
      false, 255, -32768, 65535, -2147483648, 2147483647, -1.5, Math.PI, 'ünï ✓ 🎮', Uint8Array.of(0, 1, 255),
      [[1, 2], [], [-3]], new Map([[2, 'b'], [1, 'a']]), new Map([[-7, true]]), new Map([['k', [0.5, -0]]]),
    ] as const;
    const seen: unknown[][] = [];
    const s = server({ netLag: 1, onRemote: (sv, u, id) => sv.proxy(u, All, id).all(...(args as unknown as Parameters<ReturnType<typeof All.proxy>['all']>)) });
    s.create('h', 1, 'all');
    const c = client({ onEnter: (cl) => cl.setRemote(All.implement({ all: (...a) => seen.push(a) })) });
    c.enter('h', 1, 'all');
    await tick(10);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual(args);
  });
});

describe('mode rules and misuse', () => {
  it('both onData and onDataChunk is an error at construction', () => {
    expect(() => new PeoteServer({ onData: () => {}, onDataChunk: () => {} })).toThrow(TypeError);
    expect(() => new PeoteClient({ onData: () => {}, onDataChunk: () => {} })).toThrow(TypeError);
    expect(new PeoteServer({ onData: () => {} }).mode).toBe('raw');
    expect(new PeoteServer({ onDataChunk: () => {} }).mode).toBe('chunk');
    expect(new PeoteClient({}).mode).toBe('rpc');
  });

  it('checks chunk sizes and options', async () => {
    expect(() => new PeoteServer({ maxChunkSize: 0 })).toThrow(RangeError);
    expect(() => new PeoteServer({ netSpeed: 0 })).toThrow(RangeError);
    const s = server({ maxChunkSize: 100, netLag: 0 });
    s.create('h', 1, 'j');
    expect(() => s.sendChunk(256, new Uint8Array(101))).toThrow(RangeError);
    expect(() => s.sendChunk(256, new Uint8Array(0))).toThrow(RangeError);
    expect(() => s.create('h', 1, 'k')).toThrow(Error);
    expect(() => new PeoteServer().create('h', 1, 'x'.repeat(256))).toThrow(RangeError);
    expect(() => s.setRemote(256, {} as never, 256)).toThrow(RangeError);
  });

  it('a chunk over the receiver maxChunkSize is MALICIOUS; other users are unaffected', async () => {
    const got: string[] = [];
    const s = server({
      netLag: 0,
      maxChunkSize: 10,
      onDataChunk: (_s, u, c) => got.push(`${u}:${c.length}`),
      onError: (_s, u, r) => got.push(`${u}:${Reason.toString(r)}`),
    });
    s.create('h', 1, 'j');
    const a = client({ maxChunkSize: 100, onDataChunk: () => {} });
    const b = client({ maxChunkSize: 100, onDataChunk: () => {} });
    a.enter('h', 1, 'j');
    b.enter('h', 1, 'j');
    await tick(0);
    a.sendChunk(new Uint8Array(50));
    a.sendChunk(new Uint8Array(5)); // ignored: this user's stream failed
    b.sendChunk(new Uint8Array(5));
    await tick(1);
    expect(got).toEqual(['256:MALICIOUS', '257:5']);
  });
});
