/**
 * The relay suite's baselines (bench/relay.ts forwarders, bench/drivers/tcp-forwarder.ts): one
 * forwarder per joint, each on its own port, loaded by the engine over several joints, on one
 * thread and spread over worker threads as the relay driver spreads joints. Every frame arrives,
 * intact and in order. Counts only; no speed is asserted.
 */
import type { Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { benchWith } from '../../src/bench/index.js';
import { FORWARDER_DRIVER_URL, type ForwarderTopology } from '../../bench/drivers/tcp-forwarder.js';
import { forwarder } from '../../bench/relay.js';

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
});

async function ports(kind: ForwarderTopology, joints: number): Promise<number[]> {
  const out: number[] = [];
  for (let j = 0; j < joints; j++) {
    const s = forwarder(kind);
    s.on('connection', (c: Socket) => sockets.add(c));
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    out.push((s.address() as { port: number }).port);
  }
  return out;
}

describe('tcp forwarder baselines over several joints', () => {
  it.each([
    ['funnel', 'users-to-owner', 0],
    ['pair', 'users-to-owner', 0],
    ['fanout', 'broadcast', 2],
    ['funnel', 'users-to-owner', 2],
  ] as const)('%s (%s), %i workers: every frame delivered once, intact, in order', async (topology, mode, workers) => {
    const p = await ports(topology, 2);
    const r = await benchWith(
      { url: FORWARDER_DRIVER_URL, name: 'forwarderDriver', args: [topology, p] },
      { kind: 'relay', host: '127.0.0.1', port: p[0]!, mode, users: 3, joints: 2, size: 200, window: 8, durationSec: 0.5, warmupSec: 0.1, drainMs: 1000, workers, verify: 'full' },
    );
    expect(r.counts.delivered).toBeGreaterThan(0);
    expect(r.counts.delivered).toBe(r.counts.expected);
    expect(r.counts).toMatchObject({ lost: 0, corrupted: 0, reordered: 0, duplicated: 0 });
    expect(r.errors).toEqual([]);
  });

  it('refuses a port list that does not match the joints', async () => {
    const p = await ports('funnel', 1);
    await expect(
      benchWith({ url: FORWARDER_DRIVER_URL, name: 'forwarderDriver', args: ['funnel', p] }, { kind: 'relay', host: '127.0.0.1', port: p[0]!, users: 2, joints: 2, durationSec: 0.2, warmupSec: 0 }),
    ).rejects.toThrow(/2 joints need as many ports, got 1/);
  });
});
