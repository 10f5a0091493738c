import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Session, resolveSessionLimits, nowMs } from '../../src/wire/session.js';
import { nodePlatform as nodeWirePlatform } from '../../src/platform/node.js';
import { webPlatform as webWirePlatform } from '../../src/platform/web.js';
import { parseKey } from '../../src/wire/key.js';
import { CloseCode, FrameType } from '../../src/wire/protocol.js';
import { memoryPair, splitFrames, join, sleep, until, type MemoryStream } from './memory-link.js';
import { KEY128, KEY256, SessionPairs, bytes, frame, recorder, type PairOptions } from './session-pair.js';

const OTHER128 = parseKey('FFFFEA65238DD2C25EB87CE563868098') as Uint8Array;

const made = new SessionPairs();
afterEach(() => made.cleanup());

const pair = (o?: PairOptions) => made.pair(o);

describe('Session handshake', () => {
  it('completes a plaintext handshake and carries messages both ways', async () => {
    const { server, client, sr, cr } = pair();
    await until(() => sr.established && cr.established);
    expect(client.encrypted).toBe(false);
    expect(client.queueMessage(bytes(0x91, 1), 0, 2)).toBe(true);
    expect(server.queueMessage(bytes(0xa1, 0x41), 0, 2)).toBe(true);
    await until(() => sr.messages.length === 1 && cr.messages.length === 1);
    expect([...sr.messages[0]!]).toEqual([0x91, 1]);
    expect([...cr.messages[0]!]).toEqual([0xa1, 0x41]);
  });

  it.each([
    ['AES-128', KEY128],
    ['AES-256', KEY256],
  ])('completes an encrypted handshake (%s); no plaintext on the wire', async (_n, key) => {
    const { server, client, sr, cr, cs } = pair({ clientKey: key, serverKey: key });
    await until(() => sr.established && cr.established);
    const secret = new TextEncoder().encode('very secret payload');
    client.queueMessage(secret, 0, secret.length);
    await until(() => sr.messages.length === 1);
    expect(new TextDecoder().decode(sr.messages[0])).toBe('very secret payload');
    expect(Buffer.from(join(cs.sent)).includes(Buffer.from('very secret'))).toBe(false);
    expect(server.encrypted).toBe(true);
  });

  it('derives different keys per connection (same plaintext, different ciphertext)', async () => {
    const a = pair({ clientKey: KEY128, serverKey: KEY128 });
    const b = pair({ clientKey: KEY128, serverKey: KEY128 });
    await until(() => a.sr.established && b.sr.established);
    const m = bytes(0xc0);
    a.client.queueMessage(m, 0, 1);
    b.client.queueMessage(m, 0, 1);
    await until(() => a.sr.messages.length === 1 && b.sr.messages.length === 1);
    const last = (s: MemoryStream) => s.sent[s.sent.length - 1]!;
    expect(Buffer.from(last(a.cs)).equals(Buffer.from(last(b.cs)))).toBe(false);
  });

  it('reports a version mismatch on both sides', async () => {
    const { sr, cr } = pair({ client: { protocolVersion: 2 } });
    await until(() => sr.errors.length > 0 && cr.errors.length > 0);
    expect(sr.errors[0]).toMatch(/version mismatch/);
    expect(cr.errors[0]).toMatch(/version mismatch/);
    expect(sr.closes[0]!.code).toBe(CloseCode.VersionMismatch);
    expect(cr.established).toBe(false);
  });

  it.each([
    ['client only', KEY128, null, /the client has a key, this server has none/],
    ['server only', null, KEY128, /this server has a key, the client has none/],
  ])('reports a key on one side only (%s) on both sides', async (_n, ck, sk, re) => {
    const { sr, cr } = pair({ clientKey: ck, serverKey: sk });
    await until(() => sr.errors.length > 0 && cr.errors.length > 0);
    expect(sr.errors[0]).toMatch(re);
    expect(cr.errors[0]).toMatch(re);
    expect(cr.closes[0]!.code).toBe(CloseCode.KeyMismatch);
  });

  it('fails authentication on both sides with a wrong key', async () => {
    const { sr, cr } = pair({ clientKey: OTHER128, serverKey: KEY128 });
    await until(() => sr.errors.length > 0 && cr.errors.length > 0);
    expect(sr.errors).toEqual(['authentication failed']);
    expect(cr.errors).toEqual(['authentication failed']);
    expect(sr.established || cr.established).toBe(false);
  });

  it('times out a handshake that never comes', async () => {
    const [, ss] = memoryPair();
    const sr = recorder();
    const server = new Session('server', ss, null, nodeWirePlatform, resolveSessionLimits({ handshakeTimeoutMs: 30 }), sr.handler);
    made.track(server);
    made.every(5, () => server.tick(nowMs()));
    await until(() => sr.closes.length === 1);
    expect(sr.errors).toEqual(['handshake timeout']);
  });

  it('rejects a client that is not gamewire', async () => {
    const [, ss] = memoryPair();
    const sr = recorder();
    made.track(new Session('server', ss, null, nodeWirePlatform, resolveSessionLimits(), sr.handler));
    ss.inject(frame(new TextEncoder().encode('HELLO WORLD, not the magic')));
    await until(() => sr.errors.length === 1);
    expect(sr.errors[0]).toMatch(/not a gamewire mm client/);
  });
});

describe('docs/protocol.md §9 example bytes', () => {
  it('matches HELLO, DATA, KEEPALIVE and CLOSE byte for byte', async () => {
    const { client, sr, cr, cs, ss } = pair({ tick: true, server: { keepaliveIntervalMs: 10 } });
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    expect(hex(cs.sent[0]!).slice(0, 22)).toBe('270000000147574d4d0100');
    expect(cs.sent[0]!.length).toBe(43);
    await until(() => sr.established && cr.established);
    client.queueMessage(bytes(0x81, 0xa1, 0x61, 0x01), 0, 4);
    client.flush();
    expect(hex(cs.sent[cs.sent.length - 1]!)).toBe('060000001003' + '81a16101');
    await until(() => ss.sent.some((b) => hex(b) === '0100000020'));
    client.close(CloseCode.Normal, 'bye');
    expect(hex(cs.sent[cs.sent.length - 1]!)).toBe('050000003000627965');
  });
});

describe('Session frames', () => {
  it('coalesces every message of a tick into one write', async () => {
    const { client, sr, cr, cs } = pair({ clientKey: KEY128, serverKey: KEY128 });
    await until(() => sr.established && cr.established);
    const before = cs.flushes.length;
    for (let i = 0; i < 100; i++) client.queueMessage(bytes(i & 0x7f), 0, 1);
    await until(() => sr.messages.length === 100);
    expect(cs.flushes.length - before).toBe(1);
    expect(cs.flushes[cs.flushes.length - 1]).toBe(1);
    expect(sr.messages.map((m) => m[0])).toEqual(Array.from({ length: 100 }, (_, i) => i & 0x7f));
  });

  it('keeps big scratch buffers across large messages and releases them at the first small flush or read', async () => {
    const { client, server, sr, cr } = pair({ clientKey: KEY128, serverKey: KEY128 });
    await until(() => sr.established && cr.established);
    // White-box: the sizes of the scratch buffers (src/wire/limits.ts KEEP_BUFFER_BYTES, 256 KiB)
    // of the session's sender (src/wire/sender.ts) and receiver (src/wire/receiver.ts).
    const sizes = (s: object) => {
      const halves = s as unknown as { sender: Record<'data' | 'plain' | 'out', Uint8Array>; receiver: Record<'rxPlain', Uint8Array> };
      const f = halves.sender;
      return { data: f.data.length, plain: f.plain.length, out: f.out.length, rx: halves.receiver.rxPlain.length };
    };
    const big = new Uint8Array(400_000).fill(7);
    client.queueMessage(big, 0, big.length);
    await until(() => sr.messages.length === 1);
    const kept = sizes(client);
    expect(Math.min(kept.data, kept.plain, kept.out)).toBeGreaterThan(256 * 1024);
    client.queueMessage(big, 0, big.length); // no regrowth for the second one
    await until(() => sr.messages.length === 2);
    expect(sizes(client)).toEqual(kept);
    client.queueMessage(bytes(1), 0, 1);
    await until(() => sr.messages.length === 3);
    expect(sizes(client)).toMatchObject({ data: 4096, plain: 4096, out: 4096 });
    expect(sizes(server).rx).toBe(4096); // the small read released the server's receive buffer
  });

  it('chunks a message larger than a frame and reassembles it exactly', async () => {
    const { client, sr, cr, cs } = pair({ clientKey: KEY128, serverKey: KEY128, client: { maxFrameBytes: 1024 }, server: { maxFrameBytes: 1024 } });
    await until(() => sr.established && cr.established);
    const big = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    client.queueMessage(big, 0, big.length);
    await until(() => sr.messages.length === 1);
    expect(Buffer.from(sr.messages[0]!).equals(Buffer.from(big))).toBe(true);
    const frames = splitFrames(cs.sent[cs.sent.length - 1]!);
    expect(frames.length).toBeGreaterThan(90);
    for (const f of frames) expect(f.length - 4).toBeLessThanOrEqual(1024);
  });

  it.each([1, 7, 100, 65536, 70000])('opens sealed frames split across reads of %i bytes', async (piece) => {
    const { client, sr, cr, cs } = pair({ clientKey: KEY256, serverKey: KEY256 });
    await until(() => sr.established && cr.established);
    cs.tap = (b) => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < b.length; i += piece) out.push(b.slice(i, i + piece));
      return out;
    };
    const big = new Uint8Array(piece === 1 ? 5000 : 200_000).map((_, i) => i & 0xff);
    client.queueMessage(bytes(1), 0, 1);
    client.queueMessage(big, 0, big.length);
    client.queueMessage(bytes(2), 0, 1);
    await until(() => sr.messages.length === 3 || sr.errors.length > 0, 8000);
    expect(sr.errors).toEqual([]);
    expect(Buffer.from(sr.messages[1]!).equals(Buffer.from(big))).toBe(true);
    expect([sr.messages[0]![0], sr.messages[2]![0]]).toEqual([1, 2]);
  });

  it('sends keepalives when idle and stays open', async () => {
    // The timeout leaves 280 ms of slack over the 20 ms interval (a loaded machine can pause the
    // event loop for 100 ms); the wait is still over twice the timeout, so only keepalives keep it open.
    const { sr, cr, cs } = pair({ tick: true, client: { keepaliveIntervalMs: 20, keepaliveTimeoutMs: 300 }, server: { keepaliveIntervalMs: 20, keepaliveTimeoutMs: 300 } });
    await until(() => sr.established && cr.established);
    const before = cs.sent.length;
    await sleep(700);
    expect(cs.sent.length - before).toBeGreaterThan(3);
    expect(sr.closes).toEqual([]);
    expect(cr.closes).toEqual([]);
  });

  it('drops a silent peer with "keepalive timeout"', async () => {
    const { sr, cr, cs } = pair({ tick: true, server: { keepaliveIntervalMs: 20, keepaliveTimeoutMs: 60 }, client: { keepaliveIntervalMs: 1000 } });
    await until(() => sr.established && cr.established);
    cs.tap = () => []; // the client's bytes vanish
    await until(() => sr.closes.length === 1);
    expect(sr.errors).toEqual(['keepalive timeout']);
    expect(sr.closes[0]!.code).toBe(CloseCode.Timeout);
  });

  it('closes with a reason the peer receives', async () => {
    const { server, sr, cr } = pair({ clientKey: KEY256, serverKey: KEY256 });
    await until(() => sr.established && cr.established);
    server.close(CloseCode.Normal, 'game over');
    await until(() => cr.closes.length === 1);
    expect(cr.closes[0]).toEqual({ reason: 'game over', byPeer: true, code: CloseCode.Normal });
    expect(sr.closes[0]!.byPeer).toBe(false);
    expect(cr.errors).toEqual([]);
  });

  it('reports "send buffer overflow" when the backlog passes the limit', async () => {
    const { server, sr, cr, ss } = pair({ server: { maxSendBufferBytes: 4096 } });
    await until(() => sr.established && cr.established);
    ss.stuckBytes = 5000;
    const m = new Uint8Array(100).fill(0xc0);
    expect(server.queueMessage(m, 0, 100)).toBe(false);
    expect(sr.errors).toEqual(['send buffer overflow']);
    expect(sr.closes[0]!.code).toBe(CloseCode.Overflow);
  });
});

/** Established encrypted pair, then the client's next writes go through `tap`. */
async function tampered(tap: (frames: Uint8Array[]) => Uint8Array[], send = 3) {
  const p = pair({ clientKey: KEY128, serverKey: KEY128 });
  await until(() => p.sr.established && p.cr.established);
  p.cs.tap = (b) => [join(tap(splitFrames(b)))];
  for (let i = 0; i < send; i++) {
    p.client.queueMessage(bytes(i), 0, 1);
    p.client.flush();
  }
  await until(() => p.sr.closes.length === 1);
  return p;
}

describe('Session authentication', () => {
  it('rejects a tampered frame', async () => {
    const { sr } = await tampered((f) => f.map((x) => (x[6]! ^= 1, x)), 1);
    expect(sr.errors).toEqual(['authentication failed']);
    expect(sr.messages).toEqual([]);
  });

  it('rejects a replayed frame', async () => {
    let first: Uint8Array | null = null;
    const { sr } = await tampered((f) => {
      if (first === null) {
        first = f[0]!;
        return f;
      }
      return [first];
    }, 2);
    expect(sr.errors).toEqual(['authentication failed']);
    expect(sr.messages.length).toBe(1);
  });

  it('rejects reordered frames', async () => {
    let held: Uint8Array | null = null;
    const { sr } = await tampered((f) => {
      if (held === null) {
        held = f[0]!;
        return [];
      }
      return [f[0]!, held];
    }, 2);
    expect(sr.errors).toEqual(['authentication failed']);
    expect(sr.messages).toEqual([]);
  });

  it('rejects the frame after a dropped one', async () => {
    let n = 0;
    const { sr } = await tampered((f) => (n++ === 0 ? [] : f), 2);
    expect(sr.errors).toEqual(['authentication failed']);
  });

  it('rejects a truncated sealed frame (shorter than its tag)', async () => {
    const { sr } = await tampered(() => [frame(bytes(1, 2, 3, 4, 5))], 1);
    expect(sr.errors).toEqual(['authentication failed']);
  });

  it('delivers nothing from a frame cut off by the end of the stream', async () => {
    const { sr, cr, ss } = pair();
    await until(() => sr.established && cr.established);
    ss.inject(frame(bytes(FrameType.Data, 0, 0x91, 1)).subarray(0, 6));
    await sleep(10);
    ss.peer.destroy();
    await until(() => sr.closes.length === 1);
    expect(sr.messages).toEqual([]);
    expect(sr.closes[0]!.reason).toMatch(/connection lost/);
  });
});

describe('Session bad input', () => {
  async function open() {
    const p = pair();
    await until(() => p.sr.established && p.cr.established);
    return p;
  }

  it('drops a peer that announces an oversize frame, before buffering it', async () => {
    const { sr, ss } = await open();
    ss.inject(bytes(0xff, 0xff, 0xff, 0x7f, 1, 2, 3));
    await until(() => sr.errors.length === 1);
    expect(sr.errors[0]).toMatch(/frame larger than the maximum frame size/);
  });

  it('drops a peer that announces a message above maxMessageBytes', async () => {
    const p = pair({ server: { maxMessageBytes: 1000 } });
    await until(() => p.sr.established);
    // DATA frame with a 4-byte varint chunk prefix announcing ~4 MiB.
    p.ss.inject(frame(bytes(FrameType.Data, 0xff, 0xff, 0xff, 0x01)));
    await until(() => p.sr.errors.length === 1);
    expect(p.sr.errors[0]).toMatch(/message too large/);
    expect(p.sr.closes[0]!.code).toBe(CloseCode.MessageTooLarge);
  });

  it('drops a peer sending an unknown frame type or an empty frame', async () => {
    const a = await open();
    a.ss.inject(frame(bytes(0x77)));
    await until(() => a.sr.errors.length === 1);
    expect(a.sr.errors[0]).toMatch(/unexpected frame type 0x77/);
    const b = await open();
    b.ss.inject(bytes(0, 0, 0, 0));
    await until(() => b.sr.errors.length === 1);
    expect(b.sr.errors[0]).toMatch(/zero length/);
  });

  it('drops a flooding peer', async () => {
    const p = pair({ server: { maxInboundPerSecond: 50 } });
    await until(() => p.sr.established && p.cr.established);
    for (let i = 0; i < 100; i++) p.client.queueMessage(bytes(1), 0, 1);
    await until(() => p.sr.errors.length === 1);
    expect(p.sr.errors).toEqual(['flood']);
    expect(p.sr.messages.length).toBeLessThanOrEqual(50);
  });
});

describe('Session on WebCrypto (the browser path)', () => {
  it('interoperates with the Node path, encrypted both ways, in order', async () => {
    const { server, client, sr, cr } = pair({ clientKey: KEY256, serverKey: KEY256, clientPlatform: webWirePlatform });
    await until(() => sr.established && cr.established);
    for (let i = 0; i < 50; i++) client.queueMessage(bytes(i), 0, 1);
    for (let i = 0; i < 50; i++) server.queueMessage(bytes(100 + i), 0, 1);
    await until(() => sr.messages.length === 50 && cr.messages.length === 50);
    expect(sr.messages.map((m) => m[0])).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(cr.messages.map((m) => m[0])).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
  });

  it('detects tampering and a wrong key', async () => {
    const a = pair({ clientKey: KEY128, serverKey: KEY128, clientPlatform: webWirePlatform });
    await until(() => a.sr.established && a.cr.established);
    a.ss.tap = (b) => [b.map((x, i) => (i === 8 ? x ^ 1 : x))];
    a.server.queueMessage(bytes(1), 0, 1);
    await until(() => a.cr.errors.length === 1);
    expect(a.cr.errors).toEqual(['authentication failed']);
    const b = pair({ clientKey: OTHER128, serverKey: KEY128, clientPlatform: webWirePlatform });
    await until(() => b.cr.closes.length === 1 && b.sr.errors.length === 1);
    expect(b.sr.errors).toEqual(['authentication failed']);
    // The Node server fails at once and drops the link without a CLOSE (it cannot seal one the
    // client could open); the browser client may see the link lost before WebCrypto has failed
    // the server's FINISHED, so it reports either.
    expect(b.cr.established).toBe(false);
    if (b.cr.errors.length > 0) expect(b.cr.errors).toEqual(['authentication failed']);
    else expect(b.cr.closes[0]!.reason).toBe('connection lost');
  });
});

describe('Session fuzz', () => {
  it.each([
    ['plain', null],
    ['encrypted', KEY128],
  ])('never throws on arbitrary bytes, before or after the handshake (%s)', async (_n, key) => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), (established, framed, raw) => {
        // Framed: each random body gets a valid length prefix, so it reaches the frame handlers.
        const reads = framed ? raw.filter((r) => r.length > 0).map((r) => frame(r)) : raw;
        const [, ss] = memoryPair();
        const sr = recorder();
        const session = new Session('server', ss, key, nodeWirePlatform, resolveSessionLimits({ maxFrameBytes: 256, maxMessageBytes: 1000 }), sr.handler);
        if (established) {
          // A valid HELLO first, so the garbage reaches the established state (plain) or FINISHED (keyed).
          ss.onData(frame(Uint8Array.from([1, 0x47, 0x57, 0x4d, 0x4d, 1, key ? 1 : 0, ...new Array(32).fill(3)])));
        }
        for (const r of reads) ss.onData(r);
        session.destroy();
        expect(sr.closes.length).toBe(1);
        // The socket handler catches anything thrown as "internal error": none may occur.
        expect(sr.errors.filter((e) => e.startsWith('internal error'))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
