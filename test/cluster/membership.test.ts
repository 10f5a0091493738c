/**
 * Membership over a real nats-server: nodes see each other, a node gone without goodbye
 * (closed connection, kill -9 of its process) is declared dead within peerTimeoutMs plus a
 * small slack, a goodbye is seen at once, a restart under the same id is a new incarnation,
 * and garbage on the heartbeat subject is counted, not believed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, NodeRef, PeerDownReason } from '../../src/cluster/index.js';
import { HAS_NATS, NATS_SKIP_REASON, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { FAST, Nodes, waitFor } from './harness.js';

/** What a detection may take beyond peerTimeoutMs: the check period, a hop, a loaded machine. */
const SLACK_MS = 800;

describe.skipIf(!HAS_NATS)(`cluster membership${NATS_SKIP_REASON}`, () => {
  let nats: NatsServer;
  const nodes = new Nodes();
  let n = 0;
  const name = (): string => `mem${process.pid}x${n++}`;

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(() => nodes.closeAll());
  afterAll(() => nats?.dispose());

  function downs(node: Cluster): { peer: NodeRef; reason: PeerDownReason; atMs: number }[] {
    const seen: { peer: NodeRef; reason: PeerDownReason; atMs: number }[] = [];
    node.on('peer-down', (peer, reason) => seen.push({ peer, reason, atMs: Date.now() }));
    return seen;
  }

  it('three nodes see each other', async () => {
    const cluster = name();
    const a = await nodes.join(nats.url, 'a', { name: cluster });
    const b = await nodes.join(nats.url, 'b', { name: cluster });
    const c = await nodes.join(nats.url, 'c', { name: cluster });
    await waitFor(() => [a, b, c].every((node) => node.membership.peers().length === 2), 2000, 'three nodes to see two peers each');
    expect(a.membership.peers().map((p) => p.nodeId).sort()).toEqual(['b', 'c']);
    expect(b.membership.peer('c')).toEqual(c.self);
    expect(a.membership.isAlive('b', b.self.epoch)).toBe(true);
    expect(a.membership.isAlive('b', b.self.epoch - 1)).toBe(false);
  });

  it('declares a node dead within peerTimeoutMs when its connection closes without goodbye', async () => {
    const cluster = name();
    const a = await nodes.join(nats.url, 'a', { name: cluster });
    const b = await nodes.join(nats.url, 'b', { name: cluster });
    const c = await nodes.join(nats.url, 'c', { name: cluster });
    await waitFor(() => [a, b, c].every((node) => node.membership.peers().length === 2), 2000, 'full view');
    const seenA = downs(a);
    const seenB = downs(b);
    const cRef = c.self;
    const lastBeat = Date.now();
    await c.close(true);
    await waitFor(() => seenA.length === 1 && seenB.length === 1, FAST.peerTimeoutMs + SLACK_MS + 500, 'c declared dead by a and b');
    for (const seen of [seenA, seenB]) {
      expect(seen[0]!.peer).toEqual(cRef);
      expect(seen[0]!.reason).toBe('timeout');
      expect(seen[0]!.atMs - lastBeat).toBeLessThanOrEqual(FAST.peerTimeoutMs + SLACK_MS);
    }
    expect(a.membership.peers().map((p) => p.nodeId)).toEqual(['b']);
  });

  it('declares a node dead when its process is killed with SIGKILL', async () => {
    const cluster = name();
    const a = await nodes.join(nats.url, 'a', { name: cluster });
    const b = await nodes.join(nats.url, 'b', { name: cluster });
    const script = fileURLToPath(new URL('./node-process.ts', import.meta.url));
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, nats.url, 'k', cluster], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('ready'), 15_000, 'the child node');
      await waitFor(() => a.membership.peer('k') !== undefined && b.membership.peer('k') !== undefined, 2000, 'k seen');
      const seenA = downs(a);
      const seenB = downs(b);
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await waitFor(() => seenA.length === 1 && seenB.length === 1, FAST.peerTimeoutMs + SLACK_MS + 500, 'k declared dead');
      expect(seenA[0]!.reason).toBe('timeout');
      expect(seenA[0]!.atMs - killedAt).toBeLessThanOrEqual(FAST.peerTimeoutMs + SLACK_MS);
      expect(seenB[0]!.peer.nodeId).toBe('k');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('sees a goodbye at once, and a restart under the same id as a new incarnation', async () => {
    const cluster = name();
    const a = await nodes.join(nats.url, 'a', { name: cluster });
    const b1 = await nodes.join(nats.url, 'b', { name: cluster });
    await waitFor(() => a.membership.peer('b') !== undefined, 2000, 'b seen');
    const seen = downs(a);
    const ups: NodeRef[] = [];
    a.on('peer-up', (peer) => ups.push(peer));
    // b crashes and a new b starts before the old one timed out: the old incarnation is replaced.
    await b1.close(true);
    const b2 = await nodes.join(nats.url, 'b', { name: cluster });
    expect(b2.self.epoch).toBeGreaterThan(b1.self.epoch);
    await waitFor(() => seen.length === 1 && ups.length === 1, 2000, 'b replaced');
    expect(seen[0]).toMatchObject({ peer: b1.self, reason: 'replaced' });
    expect(ups[0]).toEqual(b2.self);
    // Then b leaves properly: seen at once, well before the timeout.
    const leftAt = Date.now();
    await b2.close();
    await waitFor(() => seen.length === 2, 1000, 'b left');
    expect(seen[1]).toMatchObject({ peer: b2.self, reason: 'left' });
    expect(seen[1]!.atMs - leftAt).toBeLessThan(FAST.peerTimeoutMs);
    // No third event for b: each incarnation ends once.
    await new Promise((resolve) => setTimeout(resolve, FAST.peerTimeoutMs + 100));
    expect(seen).toHaveLength(2);
  });

  it('counts garbage and forged old incarnations on the heartbeat subject and keeps going', async () => {
    const cluster = name();
    const a = await nodes.join(nats.url, 'a', { name: cluster });
    const b = await nodes.join(nats.url, 'b', { name: cluster });
    await waitFor(() => a.membership.peer('b') !== undefined, 2000, 'b seen');
    const nc = await connect({ servers: nats.url });
    try {
      const garbage = [new Uint8Array(0), new Uint8Array([1]), new Uint8Array(200).fill(7), Buffer.from('hello world, not a heartbeat')];
      for (const g of garbage) nc.publish(`${cluster}.hb`, g);
      // A forged beat of b's previous life (smaller epoch): not believed.
      const { encodeHeartbeatForTest } = await import('../../src/cluster/membership.js');
      nc.publish(`${cluster}.hb`, encodeHeartbeatForTest(1, { nodeId: 'b', epoch: b.self.epoch - 5 }, 0));
      await nc.flush();
    } finally {
      await nc.close();
    }
    await waitFor(() => a.membership.stats.badHeartbeats >= 4 && a.membership.stats.staleHeartbeats >= 1, 2000, 'garbage counted');
    expect(a.membership.peer('b')).toEqual(b.self);
  });

  it('tracks at most maxPeers peers', async () => {
    const cluster = name();
    const a = await nodes.join(nats.url, 'a', { name: cluster, maxPeers: 4 });
    const nc = await connect({ servers: nats.url });
    const { encodeHeartbeatForTest } = await import('../../src/cluster/membership.js');
    try {
      for (let i = 0; i < 50; i++) nc.publish(`${cluster}.hb`, encodeHeartbeatForTest(1, { nodeId: `f${i}`, epoch: 1000 + i }, 0));
      await nc.flush();
    } finally {
      await nc.close();
    }
    await waitFor(() => a.membership.stats.peersRefused === 46, 2000, '46 refused');
    expect(a.membership.peers()).toHaveLength(4);
    // The forged ones fall silent and time out; the table empties.
    await waitFor(() => a.membership.peers().length === 0, FAST.peerTimeoutMs + 1000, 'forged peers expire');
  });
});
