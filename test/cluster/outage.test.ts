/**
 * NATS outages on a real nats-server that is killed and started again on the same port and
 * store: a short one is `nats-down` then `nats-up` with nobody declared dead; a long one is
 * `nats-down`, then `isolated` after natsGraceMs with every peer reported down ('isolated'),
 * then, once NATS is back, `rejoined` as a new incarnation that kept its ids; and peers see the
 * node again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NodeRef, PeerDownReason } from '../../src/cluster/index.js';
import { HAS_NATS, NATS_SKIP_REASON, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { FAST, Nodes, nextEvent, waitFor } from './harness.js';

/** `node.directory.lookup(id)`, asked again until it answers or `timeoutMs` has passed. */
async function lookupEventually(node: { directory: { lookup(id: Uint8Array): Promise<NodeRef | null> } }, id: Uint8Array, timeoutMs: number): Promise<NodeRef | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await node.directory.lookup(id);
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}

describe.skipIf(!HAS_NATS)(`cluster NATS outage${NATS_SKIP_REASON}`, () => {
  let nats: NatsServer;
  const nodes = new Nodes();
  let n = 0;
  const name = (): string => `out${process.pid}x${n++}`;

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(async () => {
    await nodes.closeAll();
    if (!nats.running) await nats.start();
  });
  afterAll(() => nats?.dispose());

  it('a short outage: nats-down, then nats-up, nobody declared dead', async () => {
    const cluster = name();
    // A grace long enough for a stop and start of nats-server on a loaded machine.
    const slow = { name: cluster, peerTimeoutMs: 1500, natsGraceMs: 1200 };
    const a = await nodes.join(nats.url, 'a', slow);
    const b = await nodes.join(nats.url, 'b', slow);
    await waitFor(() => a.membership.peer('b') !== undefined && b.membership.peer('a') !== undefined, 2000, 'full view');
    const downs: string[] = [];
    for (const node of [a, b]) node.on('peer-down', (peer, reason) => downs.push(`${peer.nodeId}:${reason}`));
    const isolated: string[] = [];
    a.on('isolated', () => isolated.push('a'));
    const down = nextEvent(a, 'nats-down', 2000);
    // SIGKILL: every connection drops at once. A SIGTERM'd JetStream server may stop routing
    // before it closes the connections, and the nodes would then time each other out first.
    await nats.kill();
    await down;
    expect(a.health.state).toBe('down');
    const up = nextEvent<[number]>(a, 'nats-up', 5000);
    await nats.start();
    const [downMs] = await up;
    expect(downMs).toBeLessThan(slow.natsGraceMs);
    // A full peer timeout after the return: still nobody declared dead.
    await new Promise((resolve) => setTimeout(resolve, slow.peerTimeoutMs + 200));
    expect(isolated).toEqual([]);
    expect(downs).toEqual([]);
    expect(a.membership.peer('b')).toEqual(b.self);
    expect(a.health.state).toBe('up');
  });

  it('a long outage: isolated after natsGraceMs, peers reported down; back as a new incarnation with its ids', async () => {
    const cluster = name();
    const a = await nodes.join(nats.url, 'a', { name: cluster });
    const b = await nodes.join(nats.url, 'b', { name: cluster });
    await waitFor(() => a.membership.peer('b') !== undefined && b.membership.peer('a') !== undefined, 2000, 'full view');
    const ids = ['keep-1', 'keep-2', 'keep-3'].map((s) => Buffer.from(s));
    for (const id of ids) expect(await a.directory.claim(id)).toBe('claimed');
    const oldA = a.self;
    const downs: { peer: NodeRef; reason: PeerDownReason }[] = [];
    a.on('peer-down', (peer, reason) => downs.push({ peer, reason }));
    const stoppedAt = Date.now();
    const isolated = nextEvent(a, 'isolated', 5000);
    await nats.kill();
    await isolated;
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(FAST.natsGraceMs - 50);
    expect(a.health.state).toBe('isolated');
    expect(downs).toEqual([{ peer: b.self, reason: 'isolated' }]);
    expect(a.membership.peers()).toEqual([]);
    // While NATS is down, cross-node sends are refused by nothing but the window: still bounded.
    const rejoined = nextEvent<[NodeRef, Uint8Array[]]>(a, 'rejoined', 10_000);
    await new Promise((resolve) => setTimeout(resolve, FAST.peerTimeoutMs));
    await nats.start();
    const [self, lost] = await rejoined;
    expect(self.nodeId).toBe('a');
    expect(self.epoch).toBeGreaterThan(oldA.epoch);
    expect(a.self).toEqual(self);
    expect(lost).toEqual([]);
    // b reconnects to NATS on its own schedule; on a loaded machine its first lookups may time out.
    await waitFor(() => b.health.state === 'up', 5000, 'b reconnected');
    for (const id of ids) expect(await lookupEventually(b, id, 5000)).toEqual(self);
    // Both see each other again: b has the new incarnation of a.
    await waitFor(() => b.membership.peer('a')?.epoch === self.epoch && a.membership.peer('b') !== undefined, 3000, 'a and b see each other');
    // b's sweeps must not free a's reasserted ids.
    await new Promise((resolve) => setTimeout(resolve, FAST.peerTimeoutMs * 2 + 100));
    for (const id of ids) expect(await b.directory.lookup(id)).toEqual(self);
    expect(a.directory.ownedCount).toBe(3);
  });

  it('a node that lost NATS loses the ids someone took meanwhile, and is told once', async () => {
    const own = await startNatsServer();
    try {
      const cluster = name();
      const a = await nodes.join(own.url, 'a', { name: cluster });
      const b = await nodes.join(own.url, 'b', { name: cluster });
      await waitFor(() => b.membership.peer('a') !== undefined, 2000, 'b sees a');
      const id = Buffer.from('contested');
      expect(await a.directory.claim(id)).toBe('claimed');
      const isolated = nextEvent(a, 'isolated', 5000);
      await own.stop();
      await isolated;
      // The race to force: NATS is back, and b frees a's old incarnation and claims the id before a
      // reasserts it. a's own 'up' handling is held back until b has done so.
      const rejoined = nextEvent<[NodeRef, Uint8Array[]]>(a, 'rejoined', 10_000);
      const fenced: string[] = [];
      a.on('lost', (x) => fenced.push(Buffer.from(x).toString()));
      a.health.removeAllListeners('up');
      await own.start();
      await waitFor(() => b.health.state === 'up', 5000, 'b reconnected');
      await waitFor(() => a.health.state === 'up', 5000, 'a reconnected');
      expect(await b.directory.freeNode({ nodeId: 'a', epoch: a.self.epoch })).toBe(1);
      expect(await b.directory.claim(id)).toBe('claimed');
      // Now let a rejoin (what its 'up' listener would have done).
      (a as unknown as { regained(ms: number, iso: boolean): Promise<void> }).regained(0, true);
      const [, lost] = await rejoined;
      // Told once: by the watch as soon as b took it (self-fencing), or else by the reassert.
      expect([...fenced, ...lost.map((x) => Buffer.from(x).toString())]).toEqual(['contested']);
      expect(await a.directory.lookup(id)).toEqual(b.self);
      expect(a.directory.holds(id)).toBe(false);
    } finally {
      await nodes.closeAll();
      await own.dispose();
    }
  });
});
