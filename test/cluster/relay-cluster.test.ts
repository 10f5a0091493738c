/**
 * The relay cluster through the relay (issue 18 phase 2): three relays in this process on their
 * own ports and node ids, one real nats-server. Owner on A, users on B and C: create, enter, data
 * both ways byte for byte, broadcast with an excluded user, leave, kick, delete, owner close;
 * racing creates; the 256-user limit and numbering across nodes; a relay killed with SIGKILL.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Relay, silentLogger, type RelayOptions } from '../../src/relay/index.js';
import { HAS_NATS, NATS_SKIP_REASON, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { TcpClient, closeAll, hexOf, type TestClient } from '../relay/raw-client.js';
import { byte, create, enter, idHex } from '../relay/joint-commands.js';
import { FAST, waitFor } from './harness.js';


/** A data frame: size (1 or 2 bytes, joint.md §2.2) and body. */
function frame(body: Buffer): Buffer {
  const size = body.length;
  const head = size < 128 ? Buffer.of(size) : Buffer.of((size >> 8) + 0x80, size & 0xff);
  return Buffer.concat([head, body]);
}

/** `n` bytes of a pattern seeded by `seed`. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

/** Create `id` from `c`, retrying while its release by another node is still on its way. */
async function createEventually(c: TestClient, id: string, timeoutMs: number): Promise<[number, number]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await create(c, id);
    if (r[0] === 0 || Date.now() > deadline) return r;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!HAS_NATS)(`relay cluster: three relays, one NATS${NATS_SKIP_REASON}`, () => {
  let nats: NatsServer;
  const relays: Relay[] = [];
  let n = 0;
  let a: Relay;
  let b: Relay;
  let c: Relay;
  let name = '';

  const start = async (nodeId: string, extra: RelayOptions = {}): Promise<Relay> => {
    const relay = await Relay.listen({ logger: silentLogger, maxConnectionsPerIp: 0, kick: true, ...extra, cluster: { servers: nats.url, nodeId, name, ...FAST } });
    relays.push(relay);
    return relay;
  };
  const peersSeen = (count: number): boolean => relays.every((r) => r.stats().cluster!.peers >= count);

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(async () => {
    closeAll();
    await Promise.all(relays.splice(0).map((r) => r.close()));
  });
  afterAll(() => nats?.dispose());

  const three = async (extra: RelayOptions = {}): Promise<void> => {
    name = `relay${process.pid}x${n++}`;
    [a, b, c] = await Promise.all([start('a', extra), start('b', extra), start('c', extra)]);
    await waitFor(() => peersSeen(2), 3000, 'the three nodes to see each other');
  };

  it('carries a joint owned on A to users on B and C: enter, data both ways, broadcast, leave, kick, delete, close', async () => {
    await three();
    const owner = await TcpClient.connect(a.port);
    const ub = await TcpClient.connect(b.port);
    const uc = await TcpClient.connect(c.port);
    const ua = await TcpClient.connect(a.port);
    expect(await create(owner, 'room')).toEqual([0, 0]);
    // The id is taken cluster-wide, and an unknown id is error 1 everywhere.
    expect(await create(ub, 'room')).toEqual([1, 2]);
    expect(await enter(ub, 'nowhere')).toEqual([1, 1]);
    expect(await enter(ub, 'room')).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 00')).toBe('00 04 00 00 00 00');
    expect(await enter(uc, 'room')).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 01')).toBe('00 04 00 00 00 01');
    expect(await enter(ua, 'room')).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 02')).toBe('00 04 00 00 00 02');
    expect(await enter(ub, 'room', 9)).toEqual([1, 3]); // already in (joint.md §3.1)

    // user → owner (J1) and a 1000-byte frame, byte for byte.
    ub.send('04 00 41 42 43');
    expect(hexOf(await owner.read(6))).toBe('05 80 00 41 42 43');
    const big = pattern(1000, 1);
    uc.send(frame(Buffer.concat([Buffer.of(0), big])));
    expect((await owner.read(1004)).equals(frame(Buffer.concat([Buffer.of(0x80, 1), big])))).toBe(true);
    // owner → user (J2) and 5000 bytes to C's user.
    owner.send('06 80 00 01 02 03 04');
    expect(hexOf(await ub.read(6))).toBe('05 00 01 02 03 04');
    const bigger = pattern(5000, 2);
    owner.send(frame(Buffer.concat([Buffer.of(0x80, 1), bigger])));
    expect((await uc.read(5003)).equals(frame(Buffer.concat([Buffer.of(0), bigger])))).toBe(true);
    // Order per sender → receiver: 300 numbered frames each way.
    for (let i = 0; i < 300; i++) ub.send(frame(Buffer.of(0, i & 0xff, i >> 8)));
    const fromB = await owner.read(300 * 5);
    for (let i = 0; i < 300; i++) expect(hexOf(fromB.subarray(i * 5, i * 5 + 5))).toBe(hexOf(frame(Buffer.of(0x80, 0, i & 0xff, i >> 8))));
    for (let i = 0; i < 300; i++) owner.send(frame(Buffer.of(0x80, 1, i & 0xff, i >> 8)));
    const toC = await uc.read(300 * 4);
    for (let i = 0; i < 300; i++) expect(hexOf(toC.subarray(i * 4, i * 4 + 4))).toBe(hexOf(frame(Buffer.of(0, i & 0xff, i >> 8))));

    // Broadcast all but userNr 1 (C's user), then to all (J16, J15).
    owner.send('01 00 05 80 01 41 42 43');
    owner.send('01 01 04 80 58 59 5A');
    expect(hexOf(await ub.read(10))).toBe('04 00 41 42 43 04 00 58 59 5a');
    expect(hexOf(await ua.read(10))).toBe('04 00 41 42 43 04 00 58 59 5a');
    expect(hexOf(await uc.read(5))).toBe('04 00 58 59 5a');

    // Leave from C (J10), kick B's user (§17), B enters again and gets the lowest free userNr.
    uc.send('00 02 00 01 00');
    expect(await owner.readHex('00 05 00 01 00 01 00')).toBe('00 05 00 01 00 01 00');
    owner.send('00 04 07 02 00 00');
    expect(hexOf(await owner.read(12))).toBe('00 03 07 00 00 00 05 00 01 00 00 02');
    expect(hexOf(await ub.read(6))).toBe('00 04 00 02 00 02');
    expect(await enter(ub, 'room', 2)).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 00')).toBe('00 04 00 00 00 00');
    ub.send('02 00 7A');
    expect(hexOf(await owner.read(4))).toBe('03 80 00 7a');

    // Delete (J12): every user, here and there, hears reason 0; the id is free cluster-wide.
    owner.send('00 03 00 01 00');
    expect(hexOf(await ub.read(6))).toBe('00 04 00 02 00 00');
    expect(hexOf(await ua.read(6))).toBe('00 04 00 02 00 00');
    expect(await createEventually(uc, 'room', 2000)).toEqual([0, 0]);

    // Now C owns it: B's user enters, then C's owner connection closes (J13): reason 1.
    expect(await enter(ub, 'room', 3)).toEqual([0, 0]);
    expect(await uc.readHex('00 04 00 00 00 00')).toBe('00 04 00 00 00 00');
    // And the other way: a user on B closes, the owner on C hears reason 1 (J11).
    const ub2 = await TcpClient.connect(b.port);
    expect(await enter(ub2, 'room')).toEqual([0, 0]);
    expect(await uc.readHex('00 04 00 00 00 01')).toBe('00 04 00 00 00 01');
    ub2.destroy();
    expect(await uc.readHex('00 05 00 01 00 01 01')).toBe('00 05 00 01 00 01 01');
    uc.destroy();
    expect(hexOf(await ub.read(6))).toBe('00 04 00 02 00 01');
    expect(await createEventually(owner, 'room', 2000)).toEqual([0, 0]);
    const s = b.stats().cluster!;
    expect(s.framesOut).toBeGreaterThan(300);
    expect(c.stats().cluster!.framesIn).toBeGreaterThan(300);
    expect(s.remoteMemberships).toBe(0);
  });

  it('pauses a user whose node link is congested and delivers its flood intact and in order', async () => {
    name = `relay${process.pid}x${n++}`;
    const small = { linkHighWaterBytes: 8192, linkLowWaterBytes: 2048, linkWindowBytes: 4096, linkMaxBatchBytes: 1024 };
    const opts = (nodeId: string) => ({ logger: silentLogger, maxConnectionsPerIp: 0, cluster: { servers: nats.url, nodeId, name, ...FAST, ...small } });
    const [x, y] = await Promise.all([Relay.listen(opts('x')), Relay.listen(opts('y'))]);
    relays.push(x, y);
    await waitFor(() => peersSeen(1), 3000, 'x and y to see each other');
    const owner = await TcpClient.connect(x.port);
    expect(await create(owner, 'flood')).toEqual([0, 0]);
    const user = await TcpClient.connect(y.port);
    expect(await enter(user, 'flood')).toEqual([0, 0]);
    await owner.read(6);
    // 512 frames of 1 KiB, numbered, in one write: far past the link's high-water mark.
    const frames: Buffer[] = [];
    const expected: Buffer[] = [];
    for (let i = 0; i < 512; i++) {
      const data = Buffer.concat([Buffer.of(i & 0xff, i >> 8), pattern(1022, i)]);
      frames.push(frame(Buffer.concat([Buffer.of(0), data])));
      expected.push(data);
    }
    user.send(Buffer.concat(frames));
    // The relay may re-fragment (joint.md §8): compare the data of route jOwn 0 / userNr 0.
    const want = Buffer.concat(expected);
    const got: Buffer[] = [];
    let have = 0;
    let pending = Buffer.alloc(0);
    while (have < want.length) {
      pending = Buffer.concat([pending, await owner.read(1, 10_000), owner.takeAll()]);
      for (;;) {
        if (pending.length < 1) break;
        const two = pending[0]! >= 0x80;
        if (two && pending.length < 2) break;
        const size = two ? ((pending[0]! - 0x80) << 8) | pending[1]! : pending[0]!;
        const head = two ? 2 : 1;
        if (pending.length < head + size) break;
        expect(hexOf(pending.subarray(head, head + 2))).toBe('80 00');
        got.push(pending.subarray(head + 2, head + size));
        have += size - 2;
        pending = pending.subarray(head + size);
      }
    }
    expect(Buffer.concat(got).equals(want)).toBe(true);
    expect(y.stats().cluster!.linkPauses).toBeGreaterThan(0);
  });

  it('pauses the users on other nodes of an owner that stops reading (PAUSE_JOINT) instead of dropping it', async () => {
    name = `relay${process.pid}x${n++}`;
    const small = { linkHighWaterBytes: 131072, linkLowWaterBytes: 32768, linkWindowBytes: 65536 };
    const opts = (nodeId: string): RelayOptions => ({
      logger: silentLogger,
      maxConnectionsPerIp: 0,
      // Without PAUSE_JOINT the owner would be dropped (slow_reader) past twice 2 MiB.
      maxOutboundBytes: 2 * 1024 * 1024,
      outboundHighWaterBytes: 65536,
      outboundLowWaterBytes: 16384,
      cluster: { servers: nats.url, nodeId, name, ...FAST, ...small },
    });
    const [x, y] = await Promise.all([Relay.listen(opts('x')), Relay.listen(opts('y'))]);
    relays.push(x, y);
    await waitFor(() => peersSeen(1), 3000, 'x and y to see each other');
    const owner = await TcpClient.connect(x.port);
    expect(await create(owner, 'slow')).toEqual([0, 0]);
    const user = await TcpClient.connect(y.port);
    expect(await enter(user, 'slow')).toEqual([0, 0]);
    await owner.read(6);
    owner.socket.pause();
    const chunk = frame(Buffer.concat([Buffer.of(0), pattern(30_000, 3)]));
    const total = 12 * 1024 * 1024;
    let sent = 0;
    // Write until the owner's node pauses the joint (or 16 MiB, which would drop an owner nobody protects).
    while (sent < total && x.stats().cluster!.jointPauses === 0) {
      const more = user.socket.write(chunk);
      sent += chunk.length;
      if (!more) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(x.stats().cluster!.jointPauses).toBeGreaterThan(0);
    // And more, three times what would get the owner dropped: it queues in this client's socket.
    while (sent < 12 * 1024 * 1024) {
      user.socket.write(chunk);
      sent += chunk.length;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(owner.closed).toBe(false);
    expect(x.stats().disconnects.slow_reader).toBe(0);
    // The owner reads again: everything sent arrives.
    owner.socket.resume();
    const want = (sent / chunk.length) * (30_000 + 2);
    let got = 0;
    await waitFor(() => {
      got += owner.takeAll().length;
      return got >= want;
    }, 20_000, 'the flood at the owner');
    expect(owner.closed).toBe(false);
  });

  it('gives an id created on two nodes at once to exactly one of them (10 rounds)', async () => {
    await three();
    const ca = await TcpClient.connect(a.port);
    const cb = await TcpClient.connect(b.port);
    for (let round = 0; round < 10; round++) {
      const id = `race-${round}`;
      const [ra, rb] = await Promise.all([create(ca, id, 1), create(cb, id, 1)]);
      const winners = [ra, rb].filter((r) => r[0] === 0);
      expect(winners).toHaveLength(1);
      expect([ra, rb].filter((r) => r[0] === 1 && r[1] === 2)).toHaveLength(1);
    }
  });

  it('keeps replies in command order while a create and a cross-node enter wait', async () => {
    await three();
    const owner = await TcpClient.connect(a.port);
    expect(await create(owner, 'far')).toEqual([0, 0]);
    const u = await TcpClient.connect(b.port);
    // create x (claim), enter far (cross-node), create x again (taken here), enter nowhere (1).
    u.send(`00 00 01 ${idHex('x')} 00 01 02 ${idHex('far')} 00 00 03 ${idHex('x')} 00 01 04 ${idHex('nowhere')}`);
    expect(hexOf(await u.read(20))).toBe('00 03 01 00 00 00 03 02 00 00 00 03 03 01 02 00 03 04 01 01');
  });

  it('numbers 256 users over three nodes 0..255 and refuses the 257th with error 4', async () => {
    await three();
    const owner = await TcpClient.connect(a.port);
    expect(await create(owner, 'full')).toEqual([0, 0]);
    const ports = [a.port, b.port, c.port];
    const users: TcpClient[] = await Promise.all(Array.from({ length: 257 }, (_, i) => TcpClient.connect(ports[i % 3]!)));
    const replies = await Promise.all(users.slice(0, 256).map((u) => enter(u, 'full')));
    expect(replies.every((r) => r[0] === 0 && r[1] === 0)).toBe(true);
    const events = await owner.read(256 * 6, 10_000);
    const userNrs = new Set<number>();
    for (let i = 0; i < 256; i++) {
      expect(hexOf(events.subarray(i * 6, i * 6 + 5))).toBe('00 04 00 00 00');
      userNrs.add(events[i * 6 + 5]!);
    }
    expect(userNrs.size).toBe(256);
    expect(await enter(users[256]!, 'full')).toEqual([1, 4]);
    // A user of C leaves: its number is the one the next enter gets, from B.
    const leaving = users[2]!; // on C
    leaving.send('00 02 00 01 00');
    const gone = await owner.read(7);
    expect(hexOf(gone.subarray(0, 5))).toBe('00 05 00 01 00');
    expect(await enter(users[256]!, 'full', 2)).toEqual([0, 0]);
    expect(hexOf(await owner.read(6))).toBe(`00 04 00 00 00 ${byte(gone[5]!)}`);
  });

  it('ends the joints of a relay killed with SIGKILL with reason 1, and its ids come free', async () => {
    await three();
    const script = fileURLToPath(new URL('./relay-node-process.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, nats.url, 'k', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => /ready \d+/.test(out), 15_000, 'the child relay');
      const port = Number(/ready (\d+)/.exec(out)![1]);
      await waitFor(() => peersSeen(3), 3000, 'k seen by the others');
      // k owns 'doomed' with users on B and C; a user on k is in 'kept', owned on A.
      const owner = await TcpClient.connect(port);
      expect(await create(owner, 'doomed')).toEqual([0, 0]);
      const ub = await TcpClient.connect(b.port);
      const uc = await TcpClient.connect(c.port);
      expect(await enter(ub, 'doomed')).toEqual([0, 0]);
      expect(await enter(uc, 'doomed')).toEqual([0, 0]);
      const keeper = await TcpClient.connect(a.port);
      expect(await create(keeper, 'kept')).toEqual([0, 0]);
      const uk = await TcpClient.connect(port);
      expect(await enter(uk, 'kept')).toEqual([0, 0]);
      expect(await keeper.readHex('00 04 00 00 00 00')).toBe('00 04 00 00 00 00');
      // Traffic while it dies.
      ub.send('04 00 01 02 03');
      uk.send('04 00 04 05 06');
      await keeper.read(6);
      const killedAt = Date.now();
      child.kill('SIGKILL');
      const bound = FAST.peerTimeoutMs + 1500;
      expect(hexOf(await ub.read(6, bound))).toBe('00 04 00 02 00 01');
      expect(hexOf(await uc.read(6, bound))).toBe('00 04 00 02 00 01');
      expect(hexOf(await keeper.read(7, bound))).toBe('00 05 00 01 00 00 01');
      expect(Date.now() - killedAt).toBeLessThan(bound);
      // Its ids are freed by the survivors.
      expect(await createEventually(ub, 'doomed', FAST.peerTimeoutMs * 3 + 2000)).toEqual([0, 0]);
      owner.destroy();
      uk.destroy();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
