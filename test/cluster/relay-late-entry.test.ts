/**
 * Late entrants across nodes (issue 18, docs/cluster.md §12): on one relay a user who entered
 * after a frame began gets none of that frame (joint.md §5, forwarding.ts `m.seq > frameSeq`).
 * Here the owner is on A and the users on B, C and A; the owner sends a large frame in pieces and
 * a user enters between two pieces. It must get nothing of that frame and the next one whole,
 * while the users who were there get the whole frame.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Relay, silentLogger } from '../../src/relay/index.js';
import { HAS_NATS, NATS_SKIP_REASON, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { TcpClient, closeAll, hexOf, type TestClient } from '../relay/raw-client.js';
import { create, enter } from '../relay/joint-commands.js';
import { FAST, waitFor } from './harness.js';

/** `n` bytes of a pattern seeded by `seed`. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

/** The 2-byte size field of a frame of `size` bytes (joint.md §2.2; size ≥ 128). */
const size2 = (size: number): Buffer => Buffer.of((size >> 8) + 0x80, size & 0xff);

/** All data bytes `c` receives on in-joint `jIn` until `total` have come (any framing, joint.md §8). */
async function dataOf(c: TestClient, jIn: number, total: number): Promise<Buffer> {
  const units = c.decoder.units;
  const have = (): number => {
    c.pendingUnits;
    return units.reduce((sum, u) => sum + (u.kind === 'data' ? u.data.length : 0), 0);
  };
  await c.until(() => have() >= total, 5000);
  expect(units.every((u) => u.kind === 'data' && u.a === jIn)).toBe(true);
  const out = Buffer.concat(units.map((u) => (u as { data: Buffer }).data));
  units.length = 0;
  return out;
}

describe.skipIf(!HAS_NATS)(`relay cluster: late entrants get none of a frame begun before their enter${NATS_SKIP_REASON}`, () => {
  let nats: NatsServer;
  const relays: Relay[] = [];
  let n = 0;

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(async () => {
    closeAll();
    await Promise.all(relays.splice(0).map((r) => r.close()));
  });
  afterAll(() => nats?.dispose());

  const three = async (): Promise<[Relay, Relay, Relay]> => {
    const name = `late${process.pid}x${n++}`;
    const start = async (nodeId: string): Promise<Relay> => {
      const relay = await Relay.listen({ logger: silentLogger, maxConnectionsPerIp: 0, cluster: { servers: nats.url, nodeId, name, ...FAST } });
      relays.push(relay);
      return relay;
    };
    const r = await Promise.all([start('a'), start('b'), start('c')]);
    await waitFor(() => r.every((x) => x.stats().cluster!.peers >= 2), 3000, 'the three nodes to see each other');
    return r as [Relay, Relay, Relay];
  };

  it('broadcast: users entering on B (beside an earlier user), on C and on A mid-frame get none of it and the next frame whole', async () => {
    const [a, b, c] = await three();
    const owner = await TcpClient.connect(a.port);
    const early = await TcpClient.connect(b.port);
    const lateB = await TcpClient.connect(b.port);
    const lateC = await TcpClient.connect(c.port);
    const lateA = await TcpClient.connect(a.port);
    expect(await create(owner, 'late')).toEqual([0, 0]);
    expect(await enter(early, 'late')).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 00')).toBe('00 04 00 00 00 00');

    // One broadcast frame to all of 20000 data bytes, sent in two pieces around the enters.
    const body = pattern(20000, 3);
    const head = Buffer.concat([Buffer.of(0x01, 0x01), size2(1 + body.length), Buffer.of(0x80)]);
    owner.send(Buffer.concat([head, body.subarray(0, 8000)]));
    // The first piece has crossed to B: the frame began before any of the enters below.
    await early.until(() => early.available > 0, 3000);
    expect(await enter(lateB, 'late')).toEqual([0, 0]);
    expect(await enter(lateC, 'late')).toEqual([0, 0]);
    expect(await enter(lateA, 'late')).toEqual([0, 0]);
    expect(hexOf(await owner.read(18))).toBe('00 04 00 00 00 01 00 04 00 00 00 02 00 04 00 00 00 03');
    owner.send(body.subarray(8000));
    // The next frame, small, to all.
    owner.send('01 01 04 80 4e 45 57');

    expect((await dataOf(early, 0, body.length + 3)).equals(Buffer.concat([body, Buffer.from('NEW')]))).toBe(true);
    for (const late of [lateB, lateC, lateA]) {
      // Its enter reply was read; what follows is the next frame only.
      expect(hexOf(await late.read(5))).toBe('04 00 4e 45 57');
      expect((await late.silence(100)).length).toBe(0);
    }
    expect(early.pendingUnits).toBe(0);
  });

  it('broadcast with an excluded user: the late entrant on B gets nothing, the other early user on B all of it', async () => {
    const [a, b] = await three();
    const owner = await TcpClient.connect(a.port);
    const e0 = await TcpClient.connect(b.port);
    const e1 = await TcpClient.connect(b.port);
    const late = await TcpClient.connect(b.port);
    expect(await create(owner, 'ex')).toEqual([0, 0]);
    expect(await enter(e0, 'ex')).toEqual([0, 0]);
    expect(await enter(e1, 'ex')).toEqual([0, 0]);
    expect(hexOf(await owner.read(12))).toBe('00 04 00 00 00 00 00 04 00 00 00 01');
    // All but userNr 0: 10000 bytes in two pieces.
    const body = pattern(10000, 5);
    const head = Buffer.concat([Buffer.of(0x01, 0x00), size2(2 + body.length), Buffer.of(0x80, 0x00)]);
    owner.send(Buffer.concat([head, body.subarray(0, 3000)]));
    await e1.until(() => e1.available > 0, 3000);
    expect(await enter(late, 'ex')).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 02')).toBe('00 04 00 00 00 02');
    owner.send(body.subarray(3000));
    owner.send('01 00 05 80 00 4e 45 57');
    expect((await dataOf(e1, 0, body.length + 3)).equals(Buffer.concat([body, Buffer.from('NEW')]))).toBe(true);
    expect(hexOf(await late.read(5))).toBe('04 00 4e 45 57');
    expect((await late.silence(100)).length).toBe(0);
    expect((await e0.silence(50)).length).toBe(0);
  });

  it('unicast: a user on B that gets the userNr of one who left mid-frame gets none of that frame, and the next one whole', async () => {
    const [a, b, c] = await three();
    const owner = await TcpClient.connect(a.port);
    const first = await TcpClient.connect(b.port);
    const again = await TcpClient.connect(b.port);
    const other = await TcpClient.connect(c.port);
    expect(await create(owner, 'uni')).toEqual([0, 0]);
    expect(await enter(first, 'uni')).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 00')).toBe('00 04 00 00 00 00');

    // A 12000-byte frame to userNr 0, in two pieces.
    const body = pattern(12000, 7);
    owner.send(Buffer.concat([size2(2 + body.length), Buffer.of(0x80, 0x00), body.subarray(0, 4000)]));
    await first.until(() => first.available > 0, 3000);
    // userNr 0 leaves (cmd 2) and a new user on B takes it.
    first.send('00 02 00 01 00');
    expect(await owner.readHex('00 05 00 01 00 00 00')).toBe('00 05 00 01 00 00 00');
    expect(await enter(again, 'uni')).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 00')).toBe('00 04 00 00 00 00');
    owner.send(body.subarray(4000));
    owner.send('05 80 00 4e 45 57');
    expect(hexOf(await again.read(5))).toBe('04 00 4e 45 57');
    expect((await again.silence(100)).length).toBe(0);

    // And across a third node: the user on B leaves mid-frame, one on C takes userNr 0.
    owner.send(Buffer.concat([size2(2 + body.length), Buffer.of(0x80, 0x00), body.subarray(0, 4000)]));
    await again.until(() => again.available > 0, 3000);
    again.send('00 02 00 01 00');
    expect(await owner.readHex('00 05 00 01 00 00 00')).toBe('00 05 00 01 00 00 00');
    expect(await enter(other, 'uni')).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 00')).toBe('00 04 00 00 00 00');
    owner.send(body.subarray(4000));
    owner.send('05 80 00 4f 4b 21');
    expect(hexOf(await other.read(5))).toBe('04 00 4f 4b 21');
    expect((await other.silence(100)).length).toBe(0);
  });
});
