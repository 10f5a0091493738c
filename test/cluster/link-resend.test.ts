/**
 * The node link through a NATS restart during traffic (docs/cluster.md §4, §7), on both data
 * links: nats-server is SIGKILLed and started again while node a sends a stream of records to
 * node b, and b comes back to NATS well after a. Over NATS, what a publishes before b has
 * resubscribed is lost by the server; b then sees a gap, and a and b's reconnects ask for the
 * unacknowledged batches again. Every record arrives once, in order, intact, and the link never
 * fails. Over the TCP data link the batches do not touch NATS at all.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LinkChannel } from '../../src/cluster/index.js';
import { HAS_NATS, NATS_SKIP_REASON, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { Nodes, RecordingHandler, nextEvent, waitFor } from './harness.js';

/** Record i: 1..300 bytes derived from i, so a swapped, repeated or damaged record shows. */
function record(i: number, out: Buffer): number {
  const length = 1 + ((i * 7919) % 300);
  for (let k = 0; k < length; k++) out[k] = (i + k * 31) & 0xff;
  return length;
}

/** A handler that checks every TO_OWNER is the next record, byte for byte. */
function orderChecker(): { handler: RecordingHandler; next: () => number; bad: () => number } {
  const handler = new RecordingHandler();
  handler.keepData = false;
  let next = 0;
  let bad = 0;
  const check = Buffer.alloc(300);
  handler.onData = (_from, jointRef, _userNr, data, offset, length) => {
    const want = record(next, check);
    if (jointRef !== next || length !== want || Buffer.compare(Buffer.from(data.buffer, data.byteOffset + offset, length), check.subarray(0, want)) !== 0) bad++;
    next = jointRef + 1;
  };
  return { handler, next: () => next, bad: () => bad };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!HAS_NATS)(`node link through a NATS restart during traffic${NATS_SKIP_REASON}`, () => {
  let nats: NatsServer;
  const nodes = new Nodes();
  let n = 0;

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(async () => {
    await nodes.closeAll();
    if (!nats.running) await nats.start();
  });
  afterAll(() => nats?.dispose());

  for (const dataLink of ['nats', 'tcp'] as const) {
    it(`loses no record and keeps the link (dataLink: '${dataLink}')`, async () => {
      // A grace long enough for a kill and start of nats-server and b's slow reconnect on a loaded machine.
      const common = { name: `resend${process.pid}x${n++}`, dataLink, dataHost: '127.0.0.1', peerTimeoutMs: 4000, natsGraceMs: 3500 };
      const checker = orderChecker();
      const a = await nodes.join(nats.url, 'a', { ...common, reconnectWaitMs: 50 });
      // b reconnects later than a, so a publishes while b is not subscribed.
      const b = await nodes.join(nats.url, 'b', { ...common, reconnectWaitMs: 600 }, checker.handler);
      await waitFor(() => a.membership.peer('b') !== undefined && b.membership.peer('a') !== undefined, 3000, 'peers seen');
      const failures: string[] = [];
      for (const node of [a, b]) node.on('link-failed', (peer, why) => failures.push(`${peer.nodeId}:${why}`));
      const ab: LinkChannel = a.link.channel(a.membership.peer('b')!);
      const ba: LinkChannel = b.link.channel(b.membership.peer('a')!);
      const buf = Buffer.alloc(300);
      let sent = 0;
      const send = (count: number): void => {
        for (let k = 0; k < count; k++, sent++) ab.toOwner(sent, 0, buf, 0, record(sent, buf));
      };
      // b sends too, so its acks and its own channel exist (and, over TCP, its connection).
      for (let i = 0; i < 20 && (dataLink === 'nats' || ab.conn === null || ba.conn === null); i++) {
        send(5);
        ba.kick(1);
        await sleep(30);
      }
      if (dataLink === 'tcp') expect(ab.conn !== null && ba.conn !== null).toBe(true);
      await waitFor(() => checker.next() === sent && ab.inflight === 0, 3000, 'the first records acknowledged');

      let pumping = true;
      const pump = (async () => {
        while (pumping) {
          send(4);
          await sleep(5);
        }
      })();
      await sleep(100);
      const downA = nextEvent(a, 'nats-down', 3000);
      const downB = nextEvent(b, 'nats-down', 3000);
      await nats.kill();
      await Promise.all([downA, downB]);
      await sleep(150);
      const upA = nextEvent(a, 'nats-up', 6000);
      const upB = nextEvent(b, 'nats-up', 6000);
      await nats.start();
      await Promise.all([upA, upB]);
      await sleep(300);
      pumping = false;
      await pump;

      await waitFor(() => checker.next() === sent, 5000, `all ${sent} records (got ${checker.next()})`);
      await waitFor(() => ab.inflight === 0, 3000, 'every batch acknowledged');
      expect(checker.bad()).toBe(0);
      expect(failures).toEqual([]);
      expect(ab.failed).toBe(false);
      expect(a.health.state).toBe('up');
      expect(b.health.state).toBe('up');
      if (dataLink === 'nats') {
        // a came back with batches unacknowledged and sent them again.
        expect(a.link.stats.resentBatches).toBeGreaterThan(0);
      } else {
        expect(a.stats().dataLink.failovers).toBe(0);
        expect(ab.conn).not.toBe(null);
      }
      // More traffic after the outage goes through as before.
      const before = sent;
      send(50);
      await waitFor(() => checker.next() === before + 50 && ab.inflight === 0, 3000, 'records after the outage');
      expect(checker.bad()).toBe(0);
      await a.close();
      await b.close();
    });
  }

  it('gets the last batches sent before a reconnect with no traffic after them (dataLink: nats)', async () => {
    // No later batch shows a gap here: only the reconnects' resends and asks can bring them.
    // b comes back shortly after a, within linkResendMs of a's own resend, which is lost.
    const common = { name: `resend${process.pid}x${n++}`, dataLink: 'nats' as const, peerTimeoutMs: 4000, natsGraceMs: 3500, linkResendMs: 1000 };
    const checker = orderChecker();
    const a = await nodes.join(nats.url, 'a', { ...common, reconnectWaitMs: 50 });
    const b = await nodes.join(nats.url, 'b', { ...common, reconnectWaitMs: 250 }, checker.handler);
    await waitFor(() => a.membership.peer('b') !== undefined && b.membership.peer('a') !== undefined, 3000, 'peers seen');
    const failures: string[] = [];
    for (const node of [a, b]) node.on('link-failed', (peer, why) => failures.push(`${peer.nodeId}:${why}`));
    const ab = a.link.channel(a.membership.peer('b')!);
    const buf = Buffer.alloc(300);
    let sent = 0;
    const send = (count: number): void => {
      for (let k = 0; k < count; k++, sent++) ab.toOwner(sent, 0, buf, 0, record(sent, buf));
    };
    send(10);
    await waitFor(() => checker.next() === sent && ab.inflight === 0, 3000, 'the first records acknowledged');
    const downA = nextEvent(a, 'nats-down', 3000);
    await nats.kill();
    await downA;
    // Sent while NATS is down: the client holds them and publishes them when a reconnects.
    send(10);
    await sleep(50);
    const upA = nextEvent(a, 'nats-up', 6000);
    const upB = nextEvent(b, 'nats-up', 6000);
    await nats.start();
    await Promise.all([upA, upB]);
    await waitFor(() => checker.next() === sent, 3000, `the last ${sent - 10} records (got ${checker.next() - 10})`);
    await waitFor(() => ab.inflight === 0, 3000, 'every batch acknowledged');
    expect(checker.bad()).toBe(0);
    expect(failures).toEqual([]);
    await a.close();
    await b.close();
  });
});
