/**
 * The joint directory on a real nats-server with JetStream: racing claims of one id from three
 * nodes (one winner, 20 rounds), release and lookup, the ids of a dead node freed exactly once
 * by the survivors, orphans of a node nobody saw die swept, and a restarted node's old claims.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { directoryKey, jointIdOfKey, type ClaimResult } from '../../src/cluster/index.js';
import { isConcurrentCreate, retryConcurrentCreate } from '../../src/cluster/directory.js';
import { HAS_NATS, NATS_SKIP_REASON, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { FAST, Nodes, waitFor } from './harness.js';

describe('directory keys', () => {
  it('map every id, the empty one and all 256 byte values included, to a KV key and back', () => {
    const ids = [new Uint8Array(0), Buffer.from('room'), Uint8Array.from({ length: 256 }, (_, i) => i).subarray(0, 255), new Uint8Array([0, 0x2e, 0x2a, 0x3e, 0xff])];
    for (const id of ids) {
      const key = directoryKey(id);
      expect(key).toMatch(/^j[0-9a-f]*$/);
      expect(Buffer.from(jointIdOfKey(key)!)).toEqual(Buffer.from(id));
    }
    expect(directoryKey(Buffer.from('A'))).not.toBe(directoryKey(Buffer.from('a')));
    expect(jointIdOfKey('x41')).toBeNull();
    expect(jointIdOfKey('j4')).toBeNull();
    expect(jointIdOfKey('j4g')).toBeNull();
  });
});

describe.skipIf(!HAS_NATS)(`cluster joint directory${NATS_SKIP_REASON}`, () => {
  let nats: NatsServer;
  const nodes = new Nodes();
  let n = 0;
  const name = (): string => `dir${process.pid}x${n++}`;

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(() => nodes.closeAll());
  afterAll(() => nats?.dispose());

  it('gives an id raced by three nodes to exactly one of them, 20 times', async () => {
    const cluster = name();
    const all = [await nodes.join(nats.url, 'a', { name: cluster }), await nodes.join(nats.url, 'b', { name: cluster }), await nodes.join(nats.url, 'c', { name: cluster })];
    const winners: string[] = [];
    for (let round = 0; round < 20; round++) {
      const id = Buffer.from(`race-${round}`);
      const results: ClaimResult[] = await Promise.all(all.map((node) => node.directory.claim(id)));
      expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
      expect(results.filter((r) => r === 'taken')).toHaveLength(2);
      const winner = all[results.indexOf('claimed')]!;
      winners.push(winner.self.nodeId);
      for (const node of all) expect(await node.directory.lookup(id)).toEqual(winner.self);
    }
    expect(winners).toHaveLength(20);
  });

  it('claims, looks up and releases; only the holder can release', async () => {
    const cluster = name();
    const a = await nodes.join(nats.url, 'a', { name: cluster });
    const b = await nodes.join(nats.url, 'b', { name: cluster });
    const id = new Uint8Array(0); // the empty id is legal (joint.md §1)
    expect(await a.directory.lookup(id)).toBeNull();
    expect(await a.directory.claim(id)).toBe('claimed');
    expect(await a.directory.claim(id)).toBe('taken');
    expect(await b.directory.claim(id)).toBe('taken');
    expect(await b.directory.lookup(id)).toEqual(a.self);
    await waitFor(() => b.directory.cached(id) !== null, 1000, 'the mirror');
    expect(b.directory.cached(id)).toEqual(a.self);
    expect(await b.directory.release(id)).toBe(false);
    expect(await a.directory.release(id)).toBe(true);
    expect(await a.directory.release(id)).toBe(false);
    expect(await b.directory.lookup(id)).toBeNull();
    expect(await b.directory.claim(id)).toBe('claimed');
    expect(await a.directory.lookup(id)).toEqual(b.self);
    expect(a.directory.holds(id)).toBe(false);
    expect(b.directory.holds(id)).toBe(true);
  });

  it('frees the ids of a node killed with SIGKILL, once, and they can be claimed again', async () => {
    const cluster = name();
    const a = await nodes.join(nats.url, 'a', { name: cluster });
    const b = await nodes.join(nats.url, 'b', { name: cluster });
    const ids = Array.from({ length: 30 }, (_, i) => `dead-${i}`);
    const script = fileURLToPath(new URL('./node-process.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, nats.url, 'k', cluster, ...ids], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('ready'), 15_000, 'the child node');
      for (const id of ids) expect((await a.directory.lookup(Buffer.from(id)))?.nodeId).toBe('k');
      expect(await b.directory.claim(Buffer.from(ids[0]!))).toBe('taken');
      await waitFor(() => a.membership.peer('k') !== undefined && b.membership.peer('k') !== undefined, 2000, 'k seen');
      child.kill('SIGKILL');
      await waitFor(() => a.directory.stats.freed + b.directory.stats.freed === ids.length, FAST.peerTimeoutMs + 2000, 'k ids freed');
      // Both survivors try (a at once as the smallest id, b by its sweep): each id is freed once.
      await new Promise((resolve) => setTimeout(resolve, FAST.peerTimeoutMs * 2 + 200));
      expect(a.directory.stats.freed + b.directory.stats.freed).toBe(ids.length);
      for (const id of ids) expect(await b.directory.lookup(Buffer.from(id))).toBeNull();
      expect(await b.directory.claim(Buffer.from(ids[0]!))).toBe('claimed');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('sweeps the ids of a node that died while no one was watching', async () => {
    const cluster = name();
    // k claims and dies before anyone else joins: no one sees it die.
    const k = await nodes.join(nats.url, 'k', { name: cluster });
    for (let i = 0; i < 5; i++) expect(await k.directory.claim(Buffer.from(`orphan-${i}`))).toBe('claimed');
    await k.close(true);
    const a = await nodes.join(nats.url, 'a', { name: cluster });
    expect((await a.directory.lookup(Buffer.from('orphan-0')))?.nodeId).toBe('k');
    // Not at once: a node whose first heartbeat is late must keep its ids.
    expect(await a.directory.sweep()).toBe(0);
    await waitFor(() => a.directory.stats.freed === 5, FAST.peerTimeoutMs * 3 + 1000, 'orphans swept');
    expect(await a.directory.lookup(Buffer.from('orphan-3'))).toBeNull();
  });

  it('lets a restarted node take back an id its previous incarnation still holds', async () => {
    const cluster = name();
    const old = await nodes.join(nats.url, 'r', { name: cluster });
    const id = Buffer.from('mine');
    expect(await old.directory.claim(id)).toBe('claimed');
    await old.close(true);
    const again = await nodes.join(nats.url, 'r', { name: cluster });
    expect(again.self.epoch).toBeGreaterThan(old.self.epoch);
    expect(await again.directory.claim(id)).toBe('claimed');
    expect(await again.directory.lookup(id)).toEqual(again.self);
  });

  it('tells a node that is still running when a survivor freed its id (self-fencing)', async () => {
    const cluster = name();
    const a = await nodes.join(nats.url, 'a', { name: cluster });
    const b = await nodes.join(nats.url, 'b', { name: cluster });
    const id = Buffer.from('fenced');
    const other = Buffer.from('kept');
    expect(await a.directory.claim(id)).toBe('claimed');
    expect(await a.directory.claim(other)).toBe('claimed');
    await waitFor(() => b.directory.cached(id) !== null && b.directory.cached(other) !== null, 1000, "b's mirror");
    const lost: string[] = [];
    a.on('lost', (x) => lost.push(Buffer.from(x).toString()));
    // b believes a dead (a one-sided partition) and frees a's ids; then takes one of them.
    expect(await b.directory.freeNode(a.self)).toBe(2);
    expect(await b.directory.claim(id)).toBe('claimed');
    await waitFor(() => lost.length === 2, 2000, 'a told');
    expect(lost.sort()).toEqual(['fenced', 'kept']);
    expect(a.directory.holds(id)).toBe(false);
    expect(a.directory.ownedCount).toBe(0);
    // Its own later claims and releases raise nothing.
    expect(await a.directory.claim(other)).toBe('claimed');
    expect(await a.directory.release(other)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lost).toHaveLength(2);
  });

  it('answers unavailable, not forever, when NATS is gone', async () => {
    const own = await startNatsServer();
    try {
      const a = await nodes.join(own.url, 'a', { name: name(), directoryTimeoutMs: 300 });
      await own.stop();
      const started = Date.now();
      expect(await a.directory.claim(Buffer.from('x'))).toBe('unavailable');
      expect(Date.now() - started).toBeLessThan(2000);
      expect(a.directory.stats.failures).toBe(1);
    } finally {
      await nodes.closeAll();
      await own.dispose();
    }
  });
});

describe('opening the bucket while another node creates it (JetStream refuses the later creates)', () => {
  const overlap = Object.assign(new Error('subjects overlap with an existing stream'), { code: 10065 });

  it('tells a lost create race from other errors', () => {
    expect(isConcurrentCreate(overlap)).toBe(true);
    expect(isConcurrentCreate(Object.assign(new Error('x'), { code: 10058 }))).toBe(true);
    expect(isConcurrentCreate(new Error('stream name already in use with a different configuration'))).toBe(true);
    expect(isConcurrentCreate(new Error('stream not found'))).toBe(false);
    expect(isConcurrentCreate(undefined)).toBe(false);
  });

  it('looks again after a lost race, and gives up after the attempts', async () => {
    let calls = 0;
    const opened = await retryConcurrentCreate(async () => {
      if (++calls < 3) throw overlap;
      return 'bucket';
    }, 3, 1);
    expect([opened, calls]).toEqual(['bucket', 3]);
    calls = 0;
    await expect(retryConcurrentCreate(async () => {
      calls++;
      throw overlap;
    }, 3, 1)).rejects.toBe(overlap);
    expect(calls).toBe(3);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    const other = new Error('authorization violation');
    await expect(retryConcurrentCreate(async () => {
      calls++;
      throw other;
    }, 3, 1)).rejects.toBe(other);
    expect(calls).toBe(1);
  });
});
