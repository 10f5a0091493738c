/**
 * The node link's TCP data link (docs/cluster.md §4a) between real nodes on a real nats-server,
 * all on 127.0.0.1: batches move from NATS onto the direct connection mid-stream and stay in
 * order; a lost connection sends the unacknowledged batches again over NATS with nothing lost,
 * duplicated or reordered, then the link dials again; a node on `dataLink: 'nats'` still talks
 * to one on TCP; garbage, forged hellos, silent and surplus connections to the data port are
 * refused, bounded and counted while the real link goes on; a connection goes on carrying
 * batches through a short NATS outage; closing a node closes every socket.
 */
import net from 'node:net';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeAddress, localAddressToward, resolveClusterOptions, type Cluster, type LinkChannel } from '../../src/cluster/index.js';
import { HAS_NATS, NATS_SKIP_REASON, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { Nodes, RecordingHandler, nextEvent, waitFor } from './harness.js';

/** Frame i: 1..1200 bytes derived from i, so a swapped, repeated or damaged frame shows. */
function frame(i: number, out: Buffer): number {
  const length = 1 + (i * 7919) % 1200;
  for (let k = 0; k < length; k++) out[k] = (i + k * 31) & 0xff;
  return length;
}

/** Send frames [from, to) toward `ch`, a tick every `perTick`, waiting for drain when congested. */
async function pump(sender: Cluster, ch: LinkChannel, from: number, to: number, perTick: number, between?: (i: number) => void): Promise<void> {
  const buf = Buffer.alloc(1200);
  for (let i = from; i < to; ) {
    const end = Math.min(to, i + perTick);
    let ok = true;
    for (; i < end; i++) ok = ch.toOwner(i, i & 0xff, buf, 0, frame(i, buf)) && ok;
    between?.(i);
    if (!ok) await nextEvent(sender, 'drain', 5000);
    else await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A handler that checks every TO_OWNER is the next frame, byte for byte. */
function orderChecker(): { handler: RecordingHandler; next: () => number; bad: () => number } {
  const handler = new RecordingHandler();
  handler.keepData = false;
  let next = 0;
  let bad = 0;
  const check = Buffer.alloc(1200);
  handler.onData = (_from, jointRef, userNr, data, offset, length) => {
    const want = frame(next, check);
    if (jointRef !== next || userNr !== (next & 0xff) || length !== want || Buffer.compare(Buffer.from(data.buffer, data.byteOffset + offset, length), check.subarray(0, want)) !== 0) bad++;
    next = jointRef + 1;
  };
  return { handler, next: () => next, bad: () => bad };
}

/** A raw TCP client of a data port; resolves once connected. */
function dial(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Resolves when `socket` closes (the listener dropped it). */
function closed(socket: net.Socket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve();
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', () => undefined);
    // Read what the listener sent (its answer to a hello), or its end never shows.
    socket.resume();
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A hello as a dialer sends it (docs/cluster.md §4a). */
function hello(srcId: string, srcEpoch: number, dstEpoch: number, token: Buffer): Buffer {
  const id = Buffer.from(srcId, 'latin1');
  const b = Buffer.alloc(38 + id.length);
  b.write('GWDL', 0, 'latin1');
  b[4] = 1;
  b.writeDoubleLE(srcEpoch, 5);
  b.writeDoubleLE(dstEpoch, 13);
  token.copy(b, 21);
  b[37] = id.length;
  id.copy(b, 38);
  return b;
}

describe.skipIf(!HAS_NATS)(`cluster data link (TCP)${NATS_SKIP_REASON}`, () => {
  let nats: NatsServer;
  const nodes = new Nodes();
  let n = 0;
  const name = (): string => `data${process.pid}x${n++}`;

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
  });
  afterEach(() => nodes.closeAll());
  afterAll(() => nats?.dispose());

  it('moves the batches from NATS onto the data connection mid-stream, in order and intact', async () => {
    const cluster = name();
    const rx = orderChecker();
    const a = await nodes.join(nats.url, 'a', { name: cluster, dataHost: '127.0.0.1' });
    const b = await nodes.join(nats.url, 'b', { name: cluster, dataHost: '127.0.0.1' }, rx.handler);
    await waitFor(() => a.membership.peer('b') !== undefined, 2000, 'b seen');
    const ch = a.link.channel(a.membership.peer('b')!);
    const FRAMES = 30_000;
    // Small ticks at first, so batches are in flight over NATS while the connection comes up.
    await pump(a, ch, 0, FRAMES, 200);
    await waitFor(() => rx.next() === FRAMES, 10_000, 'all frames');
    expect(rx.bad()).toBe(0);
    const s = a.stats();
    expect(s.dataLink.dials).toBe(1);
    expect(s.dataLink.outbound).toBe(1);
    expect(s.dataLink.batchesSent).toBeGreaterThan(0);
    // Some went over NATS before the switch, the rest over TCP; none twice, none missing.
    expect(s.dataLink.batchesSent).toBeLessThan(s.link.batchesSent + s.link.acksSent);
    expect(b.stats().dataLink.inbound).toBe(1);
    expect(b.link.stats.gaps + b.link.stats.duplicateBatches + b.link.stats.badBatches).toBe(0);
    await waitFor(() => ch.inflight === 0, 2000, 'all acknowledged');
    // b's acks travel over its own connection to a.
    expect(b.stats().dataLink.outbound).toBe(1);
  });

  it('sends the unacknowledged batches again over NATS when the connection is lost, then dials again', async () => {
    const cluster = name();
    const rx = orderChecker();
    const opts = { name: cluster, dataHost: '127.0.0.1', dataRetryMs: 100 };
    const a = await nodes.join(nats.url, 'a', opts);
    const b = await nodes.join(nats.url, 'b', opts, rx.handler);
    await waitFor(() => a.membership.peer('b') !== undefined, 2000, 'b seen');
    const ch = a.link.channel(a.membership.peer('b')!);
    await pump(a, ch, 0, 1, 1);
    await waitFor(() => ch.conn !== null, 2000, 'the data connection');
    const FRAMES = 40_000;
    let cuts = 0;
    let nextCut = 2000;
    // b drops a's connection whenever a is on it past the next mark, while a streams: a's side
    // sees it fail with batches in flight.
    await pump(a, ch, 1, FRAMES, 500, (i) => {
      if (i >= nextCut && ch.conn !== null && ch.inflight > 0) {
        cuts++;
        nextCut = i + 8000;
        b.link.data!.dropInbound('a');
      }
    });
    await waitFor(() => rx.next() === FRAMES, 10_000, 'all frames');
    expect(cuts).toBeGreaterThanOrEqual(2);
    expect(rx.bad()).toBe(0);
    expect(b.link.stats.gaps).toBe(0);
    const s = a.stats().dataLink;
    expect(s.failovers).toBeGreaterThanOrEqual(1);
    expect(s.retransmitted).toBeGreaterThanOrEqual(s.failovers);
    expect(s.dials).toBeGreaterThanOrEqual(2);
    // Back on TCP at the first batch after the retry time (dials are lazy).
    let sent = FRAMES;
    for (let round = 0; round < 50 && ch.conn === null; round++) {
      await pump(a, ch, sent, sent + 100, 100);
      sent += 100;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await pump(a, ch, sent, sent + 2000, 500);
    await waitFor(() => rx.next() === sent + 2000, 5000, 'the frames after the failovers');
    expect(ch.conn).not.toBe(null);
    expect(rx.bad()).toBe(0);
  });

  it("talks to a node on dataLink: 'nats' over NATS, both ways", async () => {
    const cluster = name();
    const rxB = new RecordingHandler();
    const rxA = new RecordingHandler();
    const a = await nodes.join(nats.url, 'a', { name: cluster, dataHost: '127.0.0.1', dataRetryMs: 50 }, rxA);
    const b = await nodes.join(nats.url, 'b', { name: cluster, dataLink: 'nats' }, rxB);
    await waitFor(() => a.membership.peer('b') !== undefined && b.membership.peer('a') !== undefined, 2000, 'peers seen');
    const toB = a.link.channel(a.membership.peer('b')!);
    const toA = b.link.channel(b.membership.peer('a')!);
    for (let i = 0; i < 20; i++) {
      toB.toUser(i, Buffer.from(`to b ${i}`), 0, 5 + String(i).length);
      toA.toUser(i, Buffer.from(`to a ${i}`), 0, 5 + String(i).length);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitFor(() => rxB.dataCount === 20 && rxA.dataCount === 20, 3000, 'both ways');
    expect(rxB.records.map((r) => r.data!.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `to b ${i}`));
    expect(rxA.records.map((r) => r.data!.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `to a ${i}`));
    expect(a.stats().dataLink.dialFailures).toBeGreaterThanOrEqual(1);
    expect(a.stats().dataLink.outbound).toBe(0);
    expect(b.link.data).toBe(null);
  });

  it('refuses garbage, forged hellos, silent and surplus connections on the data port, and goes on', async () => {
    const cluster = name();
    const received = new RecordingHandler();
    const opts = { name: cluster, dataHost: '127.0.0.1', dataHelloTimeoutMs: 300, dataMaxPending: 4 };
    const a = await nodes.join(nats.url, 'a', opts);
    const b = await nodes.join(nats.url, 'b', opts, received);
    await waitFor(() => a.membership.peer('b') !== undefined, 2000, 'b seen');
    const port = b.link.data!.listening.port;
    const stats = (): { refused: number; badMessages: number } => b.stats().dataLink;
    // Not our magic: dropped at the fourth byte.
    const garbage = await dial(port);
    garbage.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await closed(garbage, 2000);
    // Our magic, a wrong token.
    const forged = await dial(port);
    forged.write(hello('z', 5, b.self.epoch, Buffer.alloc(16, 7)));
    await closed(forged, 2000);
    // Silent: dropped after dataHelloTimeoutMs.
    const silent = await dial(port);
    await closed(silent, 2000);
    expect(stats().refused).toBe(3);
    // More connections before their hello than dataMaxPending: the surplus is closed at once.
    const flood = await Promise.all(Array.from({ length: 8 }, () => dial(port)));
    await waitFor(() => stats().refused >= 3 + 4, 2000, 'the surplus refused');
    expect(b.link.data!.openSockets).toBeLessThanOrEqual(4 + 2);
    await Promise.all(flood.map((s) => closed(s, 2000)));
    expect(stats().refused).toBe(3 + 8);
    // A peer that has the token (it asked over NATS, as nodes do) but sends a length past the cap,
    // then one whose batch claims another node: both dropped, counted as bad messages.
    const nc = await connect({ servers: nats.url });
    try {
      const address = decodeAddress((await nc.request(`${cluster}.d.b`, new Uint8Array(0), { timeout: 2000 })).data)!;
      expect(address.port).toBe(port);
      const big = await dial(port);
      big.write(hello('y', 9, b.self.epoch, address.token));
      const length = Buffer.alloc(4);
      length.writeUInt32LE(64 * 1024 * 1024);
      big.write(length);
      await closed(big, 2000);
      const liar = await dial(port);
      liar.write(hello('y', 9, b.self.epoch, address.token));
      const batch = Buffer.alloc(28 + 5);
      batch[0] = 1;
      batch.writeDoubleLE(9, 2);
      batch.writeDoubleLE(b.self.epoch, 10);
      batch[26] = 1;
      batch[27] = 0x78; // 'x', not the hello's 'y'
      const framed = Buffer.alloc(4 + batch.length);
      framed.writeUInt32LE(batch.length);
      batch.copy(framed, 4);
      liar.write(framed);
      await closed(liar, 2000);
    } finally {
      await nc.close();
    }
    expect(stats().badMessages).toBe(2);
    expect(received.records).toEqual([]);
    // The real link is unaffected.
    const ch = a.link.channel(a.membership.peer('b')!);
    for (let i = 0; i < 5; i++) {
      ch.toUser(i, Buffer.from('still fine'), 0, 10);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitFor(() => received.dataCount === 5 && ch.conn !== null, 3000, 'the real records');
    await waitFor(() => b.link.data!.pending.size === 0 && b.link.data!.inbound.size === 1, 2000, 'only a’s connection left');
  });

  it('keeps carrying batches over the data connection through a short NATS outage', async () => {
    const cluster = name();
    const received = new RecordingHandler();
    // A grace long enough for a stop and start of nats-server on a loaded machine.
    const slow = { name: cluster, dataHost: '127.0.0.1', peerTimeoutMs: 1500, natsGraceMs: 1200 };
    const a = await nodes.join(nats.url, 'a', slow);
    const b = await nodes.join(nats.url, 'b', slow, received);
    await waitFor(() => a.membership.peer('b') !== undefined && b.membership.peer('a') !== undefined, 2000, 'peers seen');
    const ab = a.link.channel(a.membership.peer('b')!);
    const ba = b.link.channel(b.membership.peer('a')!);
    const data = Buffer.from('over tcp');
    for (let i = 0; i < 20 && (ab.conn === null || ba.conn === null); i++) {
      ab.toUser(i, data, 0, data.length);
      ba.toUser(i, data, 0, data.length);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(ab.conn !== null && ba.conn !== null).toBe(true);
    await waitFor(() => ab.inflight === 0, 2000, 'all acknowledged');
    const before = received.dataCount;
    const down = nextEvent(a, 'nats-down', 2000);
    await nats.kill();
    await down;
    for (let i = 0; i < 10; i++) ab.toUser(100 + i, data, 0, data.length);
    await waitFor(() => received.dataCount === before + 10, 1000, 'the records sent while NATS is down');
    await waitFor(() => ab.inflight === 0, 1000, 'acknowledged over b’s connection');
    const up = nextEvent(a, 'nats-up', 5000);
    await nats.start();
    await up;
    expect(ab.conn).not.toBe(null);
    expect(a.stats().dataLink.failovers).toBe(0);
  });

  it('closes every socket and the listener when a node closes', async () => {
    const cluster = name();
    const a = await nodes.join(nats.url, 'a', { name: cluster, dataHost: '127.0.0.1' });
    const b = await nodes.join(nats.url, 'b', { name: cluster, dataHost: '127.0.0.1' });
    await waitFor(() => a.membership.peer('b') !== undefined && b.membership.peer('a') !== undefined, 2000, 'peers seen');
    const ab = a.link.channel(a.membership.peer('b')!);
    const ba = b.link.channel(b.membership.peer('a')!);
    const data = Buffer.alloc(100, 3);
    for (let i = 0; i < 10 && (ab.conn === null || ba.conn === null); i++) {
      ab.toUser(1, data, 0, 100);
      ba.toUser(1, data, 0, 100);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(ab.conn !== null && ba.conn !== null).toBe(true);
    const portA = a.link.data!.listening.port;
    const dataA = a.link.data!;
    const dataB = b.link.data!;
    expect(dataA.openSockets).toBe(2);
    await a.close();
    expect(dataA.openSockets).toBe(0);
    await waitFor(() => dataB.openSockets === 0, 2000, 'b’s side of both connections closed');
    await expect(dial(portA)).rejects.toThrow();
    await b.close();
    expect(dataB.openSockets).toBe(0);
  });
});

describe('cluster data link options', () => {
  it('checks dataLink, dataHost and the numeric data options', () => {
    const servers = 'nats://127.0.0.1:4222';
    expect(resolveClusterOptions({ servers }).dataLink).toBe('tcp');
    expect(resolveClusterOptions({ servers, dataLink: 'nats' }).dataLink).toBe('nats');
    expect(() => resolveClusterOptions({ servers, dataLink: 'udp' as 'tcp' })).toThrow(TypeError);
    expect(() => resolveClusterOptions({ servers, dataHost: '' })).toThrow(TypeError);
    expect(() => resolveClusterOptions({ servers, dataPort: 65_536 })).toThrow(/dataPort/);
    expect(() => resolveClusterOptions({ servers, dataPort: 65_536 })).toThrow(RangeError);
    expect(() => resolveClusterOptions({ servers, dataMaxPending: 0 })).toThrow(/dataMaxPending/);
    expect(() => resolveClusterOptions({ servers, dataRetryMs: 1.5 })).toThrow(RangeError);
  });

  it('advertises the local address of the route toward NATS by default', async () => {
    expect(await localAddressToward('nats://127.0.0.1:4222')).toBe('127.0.0.1');
    expect(await localAddressToward('127.0.0.1:4222')).toBe('127.0.0.1');
    expect(await localAddressToward('not a url ::')).toBe('127.0.0.1');
  });
});
