/**
 * The node link between real nodes on a real nats-server: 100k frames arrive in order and
 * intact while batching keeps NATS messages far below the frame count, a receiver that stops
 * consuming makes the sender's sends return false with its memory bounded (then drain), the hard
 * cap and the stall timeout fail the channel, and garbage on a node's subject is refused. Each
 * case runs with the batches over the TCP data link (the default) and over NATS.
 */
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, LinkChannel } from '../../src/cluster/index.js';
import { HAS_NATS, NATS_SKIP_REASON, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { Nodes, RecordingHandler, nextEvent, waitFor } from './harness.js';

/** Frame i: 1..200 bytes, each byte derived from i, so a swapped or damaged frame shows. */
function frame(i: number, out: Buffer): number {
  const length = 1 + (i * 7919) % 200;
  for (let k = 0; k < length; k++) out[k] = (i + k * 31) & 0xff;
  return length;
}

/** Send frames [from, to) toward `ch`, yielding a tick every `perTick` and waiting for drain when congested. */
async function pump(sender: Cluster, ch: LinkChannel, from: number, to: number, perTick = 2000): Promise<void> {
  const buf = Buffer.alloc(256);
  for (let i = from; i < to; ) {
    const end = Math.min(to, i + perTick);
    let ok = true;
    for (; i < end; i++) ok = ch.toOwner(i, i & 0xff, buf, 0, frame(i, buf)) && ok;
    if (!ok) await nextEvent(sender, 'drain', 5000);
    else await new Promise((resolve) => setImmediate(resolve));
  }
}

describe.skipIf(!HAS_NATS).each(['tcp', 'nats'] as const)(`cluster node link over %s${NATS_SKIP_REASON}`, (dataLink) => {
  let nats: NatsServer;
  const nodes = new Nodes();
  let n = 0;
  const name = (): string => `link${process.pid}x${n++}`;

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
  });
  afterEach(() => nodes.closeAll());
  afterAll(() => nats?.dispose());

  it('carries 100k frames in order and intact, in far fewer NATS messages', async () => {
    const cluster = name();
    const received = new RecordingHandler();
    received.keepData = false;
    let next = 0;
    let bad = 0;
    const check = Buffer.alloc(256);
    received.onData = (_from, jointRef, userNr, data, offset, length) => {
      const want = frame(next, check);
      if (jointRef !== next || userNr !== (next & 0xff) || length !== want || Buffer.compare(Buffer.from(data.buffer, data.byteOffset + offset, length), check.subarray(0, want)) !== 0) bad++;
      next = jointRef + 1;
    };
    const a = await nodes.join(nats.url, 'a', { name: cluster, dataLink });
    const b = await nodes.join(nats.url, 'b', { name: cluster, dataLink }, received);
    await waitFor(() => a.membership.peer('b') !== undefined, 2000, 'b seen');
    const ch = a.link.channel(a.membership.peer('b')!);
    const before = a.nc.stats().outMsgs;
    const FRAMES = 100_000;
    await pump(a, ch, 0, FRAMES);
    await waitFor(() => received.dataCount === FRAMES, 10_000, 'all frames');
    const messages = a.nc.stats().outMsgs - before;
    expect(bad).toBe(0);
    expect(next).toBe(FRAMES);
    expect(a.link.stats.recordsSent).toBe(FRAMES);
    // 50 ticks of 2000 frames (~100 B each) fill ~4 batches of 64 KiB each, plus a few heartbeats.
    expect(messages).toBeLessThan(FRAMES / 100);
    expect(a.link.stats.batchesSent).toBeLessThan(FRAMES / 100);
    expect(b.link.stats.badBatches + b.link.stats.gaps).toBe(0);
    await waitFor(() => ch.inflight === 0, 2000, 'all acknowledged');
    expect(ch.bufferedBytes).toBe(0);
  });

  it('keeps frames of each sender in order when two nodes send to a third at once', async () => {
    const cluster = name();
    const received = new RecordingHandler();
    received.keepData = false;
    const next = new Map<string, number>();
    let bad = 0;
    received.onData = (from, jointRef) => {
      if (jointRef !== (next.get(from) ?? 0)) bad++;
      next.set(from, jointRef + 1);
    };
    const a = await nodes.join(nats.url, 'a', { name: cluster, dataLink });
    const b = await nodes.join(nats.url, 'b', { name: cluster, dataLink });
    await nodes.join(nats.url, 'c', { name: cluster, dataLink }, received);
    await waitFor(() => a.membership.peer('c') !== undefined && b.membership.peer('c') !== undefined, 2000, 'c seen');
    await Promise.all([pump(a, a.link.channel(a.membership.peer('c')!), 0, 20_000, 500), pump(b, b.link.channel(b.membership.peer('c')!), 0, 20_000, 500)]);
    await waitFor(() => received.dataCount === 40_000, 10_000, 'all frames');
    expect(bad).toBe(0);
    expect(next.get('a')).toBe(20_000);
    expect(next.get('b')).toBe(20_000);
  });

  it('signals backpressure when the receiver stops consuming, bounds memory, and drains on resume', async () => {
    const cluster = name();
    const received = new RecordingHandler();
    received.keepData = false;
    const opts = { linkWindowBytes: 64 * 1024, linkHighWaterBytes: 256 * 1024, linkLowWaterBytes: 32 * 1024, linkMaxBufferedBytes: 4 * 1024 * 1024, linkMaxBatchBytes: 16 * 1024 };
    const a = await nodes.join(nats.url, 'a', { name: cluster, dataLink, ...opts });
    const b = await nodes.join(nats.url, 'b', { name: cluster, dataLink, ...opts }, received);
    await waitFor(() => a.membership.peer('b') !== undefined, 2000, 'b seen');
    // b must know the channel before pausing it: one record opens it.
    const ch = a.link.channel(a.membership.peer('b')!);
    const data = Buffer.alloc(1000, 1);
    ch.toOwner(0, 0, data, 0, data.length);
    await waitFor(() => received.dataCount === 1, 2000, 'the first frame');
    b.link.pause('a');
    let sent = 1;
    let refusedAt = -1;
    for (let tick = 0; tick < 50 && refusedAt < 0; tick++) {
      for (let i = 0; i < 100; i++) {
        if (!ch.toOwner(sent, 0, data, 0, data.length)) {
          refusedAt = sent;
          sent++;
          break;
        }
        sent++;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(refusedAt).toBeGreaterThan(0);
    expect(ch.congested).toBe(true);
    expect(ch.failed).toBe(false);
    // In NATS: at most one window (plus the batch that opened it); the rest waits in a's buffer.
    expect(ch.inflight).toBeLessThanOrEqual(opts.linkWindowBytes + opts.linkMaxBatchBytes);
    expect(ch.bufferedBytes).toBeLessThanOrEqual(opts.linkHighWaterBytes + 2 * data.length + 64);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received.dataCount).toBe(1);
    const drained = nextEvent(a, 'drain', 5000);
    b.link.resume('a');
    await drained;
    await waitFor(() => received.dataCount === sent, 5000, 'every frame after resume');
    expect(ch.congested).toBe(false);
  });

  it('fails the channel past linkMaxBufferedBytes (overflow) and on no acknowledgement (stalled)', async () => {
    const cluster = name();
    const opts = { linkWindowBytes: 16 * 1024, linkHighWaterBytes: 32 * 1024, linkLowWaterBytes: 8 * 1024, linkMaxBufferedBytes: 64 * 1024, linkMaxBatchBytes: 4096, linkStallTimeoutMs: 400 };
    const a = await nodes.join(nats.url, 'a', { name: cluster, dataLink, ...opts });
    const b = await nodes.join(nats.url, 'b', { name: cluster, dataLink, ...opts });
    await waitFor(() => a.membership.peer('b') !== undefined, 2000, 'b seen');
    const data = Buffer.alloc(1000, 2);
    let ch = a.link.channel(a.membership.peer('b')!);
    ch.toOwner(0, 0, data, 0, 10);
    await waitFor(() => b.link.stats.batchesReceived === 1, 2000, 'first batch');
    b.link.pause('a');
    const failed: string[] = [];
    a.on('link-failed', (peer, why) => failed.push(`${peer.nodeId}:${why}`));
    // Nothing is read: writing 100 KB in one tick passes the 64 KiB cap.
    let accepted = 0;
    for (let i = 0; i < 100; i++) if (ch.toOwner(i, 0, data, 0, data.length)) accepted++;
    expect(failed).toEqual(['b:overflow']);
    expect(ch.failed).toBe(true);
    expect(ch.bufferedBytes).toBe(0);
    expect(ch.toOwner(1, 0, data, 0, 1)).toBe(false);
    expect(accepted).toBeLessThan(100);
    // A new channel, still unread: bytes in flight and no ack for 400 ms: stalled.
    a.link.drop('b');
    ch = a.link.channel(a.membership.peer('b')!);
    ch.toOwner(0, 0, data, 0, 100);
    await waitFor(() => failed.length === 2, 3000, 'stalled');
    expect(failed[1]).toBe('b:stalled');
  });

  it('refuses garbage published on a node subject and goes on', async () => {
    const cluster = name();
    const received = new RecordingHandler();
    const a = await nodes.join(nats.url, 'a', { name: cluster, dataLink });
    const b = await nodes.join(nats.url, 'b', { name: cluster, dataLink }, received);
    await waitFor(() => a.membership.peer('b') !== undefined, 2000, 'b seen');
    const bad: string[] = [];
    b.link.on('bad-batch', (from, error) => bad.push(`${from}:${error}`));
    const nc = await connect({ servers: nats.url });
    try {
      const header = Buffer.alloc(28);
      header[0] = 1;
      header[1] = 1;
      header.writeDoubleLE(5, 2);
      header.writeDoubleLE(b.self.epoch, 10);
      header[26] = 1;
      header[27] = 0x7a; // 'z'
      // Batches 1 and 2 of 'z': a batch number already seen would be dropped as a duplicate.
      const second = Buffer.from(header);
      header.writeUInt32LE(1, 18);
      second.writeUInt32LE(2, 18);
      const garbage = [new Uint8Array(0), new Uint8Array(27), Buffer.alloc(40, 0xff), Buffer.concat([header, Buffer.from([0x0d, 1, 2])]), Buffer.concat([second, Buffer.from([0x06, 1, 0, 0, 0, 0, 0xff, 0xff, 1])])];
      for (const g of garbage) nc.publish(`${cluster}.n.b`, g);
      await nc.flush();
    } finally {
      await nc.close();
    }
    await waitFor(() => bad.length === 5, 2000, 'five refusals');
    expect(bad.slice(3)).toEqual(['z:2', 'z:1']);
    const ch = a.link.channel(a.membership.peer('b')!);
    ch.toUser(5, Buffer.from('still fine'), 0, 10);
    await waitFor(() => received.records.some((r) => r.type === 'toUser'), 2000, 'a real record');
  });
});
