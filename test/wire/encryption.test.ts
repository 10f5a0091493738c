/**
 * Encryption checks of issue 9 not already in session.test.ts (Node path: tampered, replayed,
 * reordered, dropped, shorter-than-tag frames, wrong key, key on one side) or
 * test/mm/bad-input.test.ts (the same over TCP): the WebCrypto receive path, truncation that keeps
 * a consistent length, handshake tampering, cross-connection replay, the receive backlog cap of
 * the asynchronous path, and the uniqueness of session keys and nonce prefixes across many
 * connections sharing one pre-shared key.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Session, resolveSessionLimits } from '../../src/wire/session.js';
import { nodeCrypto, nodePlatform as nodeWirePlatform } from '../../src/platform/node.js';
import { webPlatform as webWirePlatform } from '../../src/platform/web.js';
import { CloseCode, FrameType } from '../../src/wire/protocol.js';
import { MAX_PENDING_DECRYPT_BYTES } from '../../src/wire/limits.js';
import type { CryptoProvider, WirePlatform } from '../../src/platform/types.js';
import { Client, Server } from '../../src/mm/index.js';
import { join, memoryPair, splitFrames, sleep, until, type MemoryStream } from './memory-link.js';
import { KEY128, KEY256, SessionPairs, bytes, frame, recorder, type PairOptions } from './session-pair.js';

const KEY_HEX = '0C03EA65238DD2C25EB87CE563868098';

const made = new SessionPairs();
const servers: Server[] = [];
const clients: Client[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  made.cleanup();
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.close();
});

const pair = (o?: PairOptions) => made.pair(o);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const PLATFORMS: Array<[string, WirePlatform]> = [
  ['Node', nodeWirePlatform],
  ['WebCrypto', webWirePlatform],
];

/**
 * An established encrypted pair whose server receives on `receiver`; the client's next `send`
 * flushes go through `tap` (frames of one flush in, frames delivered out).
 */
async function attacked(receiver: WirePlatform, tap: (frames: Uint8Array[]) => Uint8Array[], send = 3) {
  const p = pair({ clientKey: KEY128, serverKey: KEY128, serverPlatform: receiver });
  await until(() => p.sr.established && p.cr.established);
  p.cs.tap = (b) => [join(tap(splitFrames(b)))];
  for (let i = 0; i < send; i++) {
    p.client.queueMessage(bytes(0xc0 + i), 0, 1);
    p.client.flush();
  }
  await until(() => p.sr.closes.length === 1);
  return p;
}

/** Rewrite the length prefix of a framed sealed frame after cutting its body to `bodyLength`. */
function cut(f: Uint8Array, bodyLength: number): Uint8Array {
  return frame(f.subarray(4, 4 + bodyLength));
}

describe('sealed frames on the WebCrypto receive path (the browser)', () => {
  it('rejects a replayed frame after delivering the genuine one', async () => {
    let first: Uint8Array | null = null;
    const { sr } = await attacked(webWirePlatform, (f) => {
      if (first === null) return ((first = f[0]!), f);
      return [first];
    }, 2);
    expect(sr.errors).toEqual(['authentication failed']);
    expect(sr.messages.map((m) => m[0])).toEqual([0xc0]);
    expect(sr.closes[0]!.code).toBe(CloseCode.ProtocolError);
  });

  it('rejects reordered frames and delivers neither', async () => {
    let held: Uint8Array | null = null;
    const { sr } = await attacked(webWirePlatform, (f) => {
      if (held === null) return ((held = f[0]!), []);
      return [f[0]!, held];
    }, 2);
    expect(sr.errors).toEqual(['authentication failed']);
    expect(sr.messages).toEqual([]);
  });

  it('rejects the frame after a dropped one', async () => {
    let n = 0;
    const { sr } = await attacked(webWirePlatform, (f) => (n++ === 0 ? [] : f), 2);
    expect(sr.errors).toEqual(['authentication failed']);
    expect(sr.messages).toEqual([]);
  });

  it.each([
    ['a flipped ciphertext bit', 4],
    ['a flipped tag bit', -1],
  ])('rejects %s', async (_n, at) => {
    const { sr } = await attacked(webWirePlatform, (f) => f.map((x) => ((x[at < 0 ? x.length + at : at]! ^= 0x01), x)), 1);
    expect(sr.errors).toEqual(['authentication failed']);
    expect(sr.messages).toEqual([]);
  });

  it('rejects a frame shorter than its tag', async () => {
    const { sr } = await attacked(webWirePlatform, () => [frame(bytes(1, 2, 3, 4, 5))], 1);
    expect(sr.errors).toEqual(['authentication failed']);
  });
});

describe.each(PLATFORMS)('truncated sealed frames with a consistent length (%s receiver)', (_n, receiver) => {
  const body = (f: Uint8Array): Uint8Array => f.subarray(4);
  it.each([
    ['its last tag byte cut', (f: Uint8Array) => frame(body(f).subarray(0, body(f).length - 1))],
    ['its last ciphertext byte cut (tag kept)', (f: Uint8Array) => frame(join([body(f).subarray(0, body(f).length - 17), body(f).subarray(body(f).length - 16)]))],
    ['only its tag left', (f: Uint8Array) => frame(body(f).subarray(body(f).length - 16))],
    ['a byte appended', (f: Uint8Array) => frame(join([body(f), bytes(0)]))],
  ])('rejects a frame with %s', async (_m, mutate) => {
    const { sr } = await attacked(receiver, (f) => f.map(mutate), 1);
    expect(sr.errors).toEqual(['authentication failed']);
    expect(sr.messages).toEqual([]);
    expect(sr.established).toBe(true);
  });
});

describe.each(PLATFORMS)('keys on the %s client', (_n, platform) => {
  it.each([
    ['client only', KEY128, null, /the client has a key, this server has none/],
    ['server only', null, KEY128, /this server has a key, the client has none/],
  ])('a key on one side only (%s) is a key mismatch on both sides, before any sealed frame', async (_m, ck, sk, re) => {
    const { sr, cr, cs, ss } = pair({ clientKey: ck, serverKey: sk, clientPlatform: platform });
    await until(() => sr.errors.length > 0 && cr.errors.length > 0);
    expect(sr.errors[0]).toMatch(re);
    expect(cr.errors[0]).toMatch(re);
    expect(cr.closes[0]!.code).toBe(CloseCode.KeyMismatch);
    expect(sr.established || cr.established).toBe(false);
    // Only HELLO, WELCOME and the plaintext CLOSE crossed: nothing was sealed.
    const types = [...cs.sent, ...ss.sent].flatMap((b) => splitFrames(b)).map((f) => f[4]);
    expect(types.every((t) => t === FrameType.Hello || t === FrameType.Welcome || t === FrameType.Close)).toBe(true);
  });

  it('a wrong key of the other length (AES-256 against AES-128) fails authentication on both sides', async () => {
    const { sr, cr } = pair({ clientKey: KEY256, serverKey: KEY128, clientPlatform: platform });
    await until(() => sr.errors.length > 0 && cr.closes.length > 0);
    expect(sr.errors).toEqual(['authentication failed']);
    // Also on WebCrypto, where the link drops while the client is still opening FINISHED: the
    // end is reported after the frames that came before it.
    expect(cr.errors).toEqual(['authentication failed']);
    expect(sr.established || cr.established).toBe(false);
  });
});

describe.each(PLATFORMS)('handshake tampering (%s client)', (_n, platform) => {
  it.each([
    ['the client random in HELLO', 'client', 20],
    ['an unused flag bit in HELLO (transcript binding)', 'client', 10],
    ['the server random in WELCOME', 'server', 40],
  ])('a changed byte of %s gives both sides different keys: FINISHED fails, nothing is established', async (_m, side, at) => {
    const [cs, ss] = memoryPair();
    const victim = side === 'client' ? cs : ss;
    let first = true;
    victim.tap = (b) => {
      if (!first) return [b];
      first = false;
      const c = b.slice();
      c[at] ^= 0x80;
      return [c];
    };
    const sr = recorder();
    const cr = recorder();
    made.track(
      new Session('server', ss, KEY128, nodeWirePlatform, resolveSessionLimits(), sr.handler),
      new Session('client', cs, KEY128, platform, resolveSessionLimits(), cr.handler),
    );
    await until(() => sr.closes.length > 0 && cr.closes.length > 0);
    expect(sr.established || cr.established).toBe(false);
    expect([...sr.errors, ...cr.errors]).toContain('authentication failed');
  });

  it('a WELCOME and FINISHED replayed from another connection fail authentication', async () => {
    // Record a genuine server's answer to one client, play it to a second client.
    const a = pair({ clientKey: KEY128, serverKey: KEY128, clientPlatform: platform });
    await until(() => a.sr.established && a.cr.established);
    const recorded = join(a.ss.sent.slice(0, 2));
    const [cs] = memoryPair();
    const cr = recorder();
    made.track(new Session('client', cs, KEY128, platform, resolveSessionLimits(), cr.handler));
    cs.onData(recorded);
    await until(() => cr.closes.length > 0);
    expect(cr.errors).toEqual(['authentication failed']);
    expect(cr.established).toBe(false);
  });
});

describe('cross-connection replay', () => {
  it.each(PLATFORMS)('a sealed frame of one connection is rejected by another with the same key (%s receiver)', async (_n, receiver) => {
    const a = pair({ clientKey: KEY128, serverKey: KEY128 });
    const b = pair({ clientKey: KEY128, serverKey: KEY128, serverPlatform: receiver });
    await until(() => a.sr.established && a.cr.established && b.sr.established && b.cr.established);
    // The same counter position in both: the first DATA frame of each client.
    let stolen: Uint8Array | null = null;
    a.cs.tap = (x) => ((stolen = x), [x]);
    a.client.queueMessage(bytes(0xc1), 0, 1);
    a.client.flush();
    await until(() => a.sr.messages.length === 1 && stolen !== null);
    b.ss.onData(stolen!);
    await until(() => b.sr.closes.length === 1);
    expect(b.sr.errors).toEqual(['authentication failed']);
    expect(b.sr.messages).toEqual([]);
  });
});

describe('receive backlog of the asynchronous (WebCrypto) path', () => {
  const LIMIT = 256 * 1024;

  async function webClient() {
    const p = pair({ clientKey: KEY128, serverKey: KEY128, clientPlatform: webWirePlatform, client: { maxPendingDecryptBytes: LIMIT } });
    await until(() => p.sr.established && p.cr.established);
    return p;
  }

  /** `count` well-formed frames of `size` bytes of garbage (they would fail authentication later). */
  const garbage = (count: number, size: number): Uint8Array => join(Array.from({ length: count }, () => frame(new Uint8Array(size).fill(0x5a))));

  it('is a named limit with a default of 32 MiB, at least maxFrameBytes', () => {
    expect(MAX_PENDING_DECRYPT_BYTES).toBe(32 * 1024 * 1024);
    expect(resolveSessionLimits().maxPendingDecryptBytes).toBe(MAX_PENDING_DECRYPT_BYTES);
    expect(resolveSessionLimits({ maxFrameBytes: 16 * 1024 * 1024 }).maxPendingDecryptBytes).toBe(MAX_PENDING_DECRYPT_BYTES);
    expect(() => resolveSessionLimits({ maxPendingDecryptBytes: 1000 })).toThrow(/maxPendingDecryptBytes must be an integer in 65536/);
  });

  it('delivers a legitimate message that fits the limit', async () => {
    const { server, cr, client } = await webClient();
    const m = new Uint8Array(200 * 1024).map((_, i) => i & 0xff);
    server.queueMessage(m, 0, m.length);
    await until(() => cr.messages.length === 1);
    expect(Buffer.from(cr.messages[0]!).equals(Buffer.from(m))).toBe(true);
    expect(cr.errors).toEqual([]);
    await until(() => client.pendingDecryptBytes === 0);
  });

  it('drops a peer whose frames pile up past the limit in one read: ERROR, then CLOSE with Overflow', async () => {
    const { cr, cs, client } = await webClient();
    cs.onData(garbage(8, 50_000)); // 400 KB in one read, far under the flood limit in frames
    expect(cr.errors).toEqual([`receive backlog overflow (more than ${LIMIT} bytes waiting for decryption)`]);
    expect(cr.closes[0]!.code).toBe(CloseCode.Overflow);
    expect(client.pendingDecryptBytes).toBeLessThanOrEqual(LIMIT);
    await sleep(20);
    expect(cr.messages).toEqual([]);
    expect(cr.errors.length).toBe(1);
  });

  it('counts bytes across reads until they are decrypted', async () => {
    const { cr, cs, client } = await webClient();
    // Five reads of 60 KB in one turn of the event loop: nothing is decrypted in between.
    for (let i = 0; i < 5 && !client.closed; i++) {
      cs.onData(garbage(1, 60_000));
      if (i < 4) expect(client.pendingDecryptBytes).toBe((i + 1) * 60_000);
    }
    expect(cr.errors[0]).toMatch(/receive backlog overflow/);
    expect(cr.closes[0]!.code).toBe(CloseCode.Overflow);
  });

  it('never queues on the synchronous Node path', async () => {
    const p = pair({ clientKey: KEY128, serverKey: KEY128 });
    await until(() => p.sr.established && p.cr.established);
    p.cs.onData(garbage(8, 50_000));
    expect(p.client.pendingDecryptBytes).toBe(0);
    expect(p.cr.errors).toEqual(['authentication failed']);
  });
});

/** A platform whose createAead records each direction's key and nonce prefix. */
function recording(base: WirePlatform, seen: Array<{ key: string; prefix: string }>): WirePlatform {
  const crypto: CryptoProvider = {
    randomBytes: (n) => base.crypto.randomBytes(n),
    hkdfSha256: (...a) => base.crypto.hkdfSha256(...a),
    createAead: (key, prefix) => {
      seen.push({ key: hex(key), prefix: hex(prefix) });
      return base.crypto.createAead(key, prefix);
    },
  };
  return { ...base, crypto };
}

/**
 * Every direction's (key, prefix) from `seen`: each must appear exactly twice (the sender's tx
 * and the receiver's rx), and no two directions may share a key or a nonce prefix.
 */
function expectAllDistinct(seen: Array<{ key: string; prefix: string }>, connections: number): void {
  const byKey = new Map<string, { prefix: string; n: number }>();
  for (const s of seen) {
    const e = byKey.get(s.key);
    if (e === undefined) byKey.set(s.key, { prefix: s.prefix, n: 1 });
    else {
      expect(e.prefix).toBe(s.prefix);
      e.n++;
    }
  }
  expect(byKey.size).toBe(2 * connections);
  for (const e of byKey.values()) expect(e.n).toBe(2);
  const prefixes = new Set([...byKey.values()].map((e) => e.prefix));
  // 4-byte random prefixes: a collision among 2 x 200 would be a 1-in-50 000 accident, and
  // harmless with distinct keys; a constant or reused prefix fails here at once.
  expect(prefixes.size).toBe(2 * connections);
  expect(byKey.has(hex(KEY128))).toBe(false); // the pre-shared key itself is never a session key
}

describe('session keys and nonce prefixes across many connections with one pre-shared key', () => {
  const N = 200;

  it.each(PLATFORMS)('%s client: every session key and nonce prefix is distinct', async (_n, platform) => {
    const seen: Array<{ key: string; prefix: string }> = [];
    const rec = recording(platform, seen);
    const pairs = Array.from({ length: N }, () => pair({ clientKey: KEY128, serverKey: KEY128, clientPlatform: rec, serverPlatform: recording(nodeWirePlatform, seen) }));
    await until(() => pairs.every((p) => p.sr.established && p.cr.established), 10_000);
    expect(seen.length).toBe(4 * N);
    expectAllDistinct(seen, N);
    // Within a connection: the same plaintext twice gives two different ciphertexts (counter).
    const p = pairs[0]!;
    for (let i = 0; i < 2; i++) {
      p.client.queueMessage(bytes(0xc0), 0, 1);
      p.client.flush();
    }
    await until(() => p.sr.messages.length === 2);
    const sent = (s: MemoryStream) => s.sent.slice(-2).map(hex);
    expect(new Set(sent(p.cs)).size).toBe(2);
  });

  it(`mm over TCP: ${N} connections to one server with one key`, async () => {
    const seen: Array<{ key: string; prefix: string }> = [];
    const real = nodeCrypto.createAead;
    vi.spyOn(nodeCrypto, 'createAead').mockImplementation((key, prefix) => {
      seen.push({ key: hex(key), prefix: hex(prefix) });
      return real(key, prefix);
    });
    // 50 handshakes at once from one address: far past the default per-IP budgets.
    const server = await Server.listen('127.0.0.1', 0, KEY_HEX, { ownQueue: true, connectRatePerIp: 0, maxConnectionsPerIp: 0, maxPendingHandshakesPerIp: 64 });
    servers.push(server);
    for (let batch = 0; batch < N; batch += 50) {
      const group = Array.from({ length: 50 }, () => new Client('127.0.0.1', server.getPort(), KEY_HEX, { ownQueue: true }));
      clients.push(...group);
      const results = await Promise.all(group.map((c) => c.waitForConnect()));
      expect(results.every((r) => r[0] === true)).toBe(true);
      // Both ends have installed their keys once the server saw each handshake complete.
      await until(() => seen.length >= 4 * (batch + 50), 5000);
      for (const c of group) c.disconnect();
    }
    expect(seen.length).toBe(4 * N);
    expectAllDistinct(seen, N);
  }, 20_000);
});
