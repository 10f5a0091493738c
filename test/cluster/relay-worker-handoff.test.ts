/**
 * `gamewire relay --workers 2`: a connection whose first command enters a joint owned by the
 * other worker is handed to that worker, socket and all (src/relay/worker-handoff.ts), instead of
 * crossing NATS. The bytes it sent right behind its enter, and while the handoff ran, arrive once
 * each and in order; a connection that owns a joint first is not moved. Once per engine: on the
 * native one (`--engine native`) the workers listen on the port with SO_REUSEPORT and the engine
 * detaches and adopts the sockets (docs/native-engine.md "Handover"); where the native engine
 * cannot run (GAMEWIRE_NATIVE=0, no addon, not Linux) that run is skipped, loudly.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HAS_NATS, NATS_SKIP_REASON, freePort } from '../helpers/nats-server.js';
import { TcpClient, hexOf } from '../relay/raw-client.js';
import { CLI_NODE_ARGS } from '../relay/cli-process.js';
import { byte, create, enter, idHex } from '../relay/joint-commands.js';
import { waitFor } from './harness.js';
import { expectBothWays, userFrame, workersSuite } from './workers-process.js';
import { nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';

const support = nativeEngineSupport();
/** Why the native engine's run is skipped, or null when it runs. */
const NATIVE_MISSING = typeof support === 'string' ? support : support.Engine.handover !== true ? 'the loaded addon has no detach/adopt (built before them)' : null;
if (NATIVE_MISSING !== null) console.warn(`SKIPPED relay --workers handoff on the native engine: ${NATIVE_MISSING}`);

/** True when 127.0.0.1:port can be bound now (bound and released). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port p with p + 1 free too: worker k serves its metrics on p + k - 1, and a p + 1 taken by
 * another test's socket kept worker 2 from starting (it failed, was restarted, failed again).
 */
async function twoFreePorts(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const p = await freePort();
    if (p < 65_535 && (await bindable(p + 1))) return p;
  }
  throw new Error('no two consecutive free ports');
}

/** One gauge of a worker's /metrics. */
async function gauge(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`gamewire_relay_${name} `));
  if (line === undefined) throw new Error(`no ${name} in metrics`);
  return Number(line.split(' ')[1]);
}

describe.skipIf(!HAS_NATS).each([
  { engine: 'node', missing: null },
  { engine: 'native', missing: NATIVE_MISSING },
])(`gamewire relay --workers 2 --engine $engine: connections move to their joint's worker${NATS_SKIP_REASON}`, ({ engine, missing }) => {
  const suite = workersSuite();

  it('hands an entering user to the owner worker with every byte once and in order; a user that owns a joint stays', async (ctx) => {
    if (missing !== null) ctx.skip(`native relay engine: ${missing}`);
    const metricsPort = await twoFreePorts();
    const relayPort = await freePort();
    const primary = suite.start([...CLI_NODE_ARGS, 'relay', '--engine', engine, '--port', String(relayPort), '--workers', '2', '--cluster', suite.nats.url, '--node-id', 'ho', '--log-level', 'debug', '--metrics-port', String(metricsPort), '--max-connections-per-ip', '0']);
    const { logged } = primary;
    await primary.ready();
    const listening = logged<{ port: number; engine: string }>('relay listening');
    expect(listening.map((l) => [l.port, l.engine])).toEqual([
      [relayPort, engine],
      [relayPort, engine],
    ]);
    const port = relayPort;

    const owner = await TcpClient.connect(port);
    expect(await create(owner, 'room')).toEqual([0, 0]);
    await waitFor(() => logged('connection open').length === 1, 3000, 'the owner connection logged');
    const ownerWorker = logged('connection open')[0]!.worker;
    const ownerMetrics = metricsPort + ownerWorker - 1;

    // Each user: the enter and a first frame in one write, then 10 frames as separate writes
    // without waiting (in the socket while the handoff runs). On a single relay the frame behind
    // the enter reaches the owner, and so it must here: after a move the enter runs on the owner's
    // worker. Across NATS it would be dropped (docs/cluster.md §8 "Command order"). Six users, or
    // more until one landed on the other worker (SO_REUSEPORT spreads native workers' connections by a hash of the addresses).
    const users: TcpClient[] = [];
    for (let u = 0; u < 6 || (u < 24 && logged('connection adopted').length === 0); u++) {
      const c = await TcpClient.connect(port);
      users.push(c);
      c.send(`00 01 01 ${idHex('room')} ${userFrame(u, 0)}`);
      for (let n = 1; n <= 10; n++) c.send(userFrame(u, n));
      expect(hexOf(await c.read(5))).toBe('00 03 01 00 00');
      expect(hexOf(await owner.read(6))).toBe(`00 04 00 00 00 ${byte(u)}`);
      const got = await owner.read(11 * 6);
      for (let n = 0; n <= 10; n++) expect(hexOf(got.subarray(n * 6, n * 6 + 6))).toBe(`05 80 ${byte(u)} ${byte(u)} ${byte(n)} 5a`);
    }
    // Round-robin put some users on the other worker; each of them was moved.
    await waitFor(() => logged('connection adopted').length === logged('connection handed over').length, 3000, 'the handoff logs');
    const moved = logged('connection handed over');
    expect(moved.length).toBeGreaterThanOrEqual(1);
    expect(moved.every((m) => m.to === ownerWorker && m.worker !== ownerWorker)).toBe(true);
    expect(logged('connection adopted').length).toBe(moved.length);
    expect(logged('connection handoff refused; kept here')).toEqual([]);
    // All six are on the owner's worker: no user of another node in its joint.
    expect(await gauge(ownerMetrics, 'cluster_remote_users')).toBe(0);
    // Counted on both sides: moved out by the other worker, adopted by the owner's.
    const otherMetrics = metricsPort + (ownerWorker === 1 ? 2 : 1) - 1;
    expect(await gauge(ownerMetrics, 'worker_handoffs_total{result="adopted"}')).toBe(moved.length);
    expect(await gauge(otherMetrics, 'worker_handoffs_total{result="moved"}')).toBe(moved.length);
    expect(await gauge(otherMetrics, 'worker_handoffs_total{result="refused"}')).toBe(0);
    expect(await gauge(otherMetrics, 'worker_handoffs_total{result="timeout"}')).toBe(0);

    // Both ways after the move: a broadcast to all six, and a frame from each.
    await expectBothWays(owner, users);

    // Users that own a joint of their own first are not moved: they enter across NATS. Four, or
    // more until one landed on the other worker.
    const before = moved.length;
    const keepers: TcpClient[] = [];
    for (let k = 0; k < 4 || (k < 24 && (await gauge(ownerMetrics, 'cluster_remote_users')) === 0); k++) {
      const c = await TcpClient.connect(port);
      keepers.push(c);
      const nr = users.length + k;
      expect(await create(c, `own${k}`)).toEqual([0, 0]);
      expect(await enter(c, 'room', 2)).toEqual([0, 0]);
      expect(hexOf(await owner.read(6))).toBe(`00 04 00 00 00 ${byte(nr)}`);
      c.send(userFrame(nr, 7));
      expect(hexOf(await owner.read(6))).toBe(`05 80 ${byte(nr)} ${byte(nr)} 07 5a`);
    }
    expect(logged('connection handed over').length).toBe(before);
    // Some of them landed on the other worker, where they stayed.
    expect(await gauge(ownerMetrics, 'cluster_remote_users')).toBeGreaterThanOrEqual(1);
    // Starting three processes under tsx is most of it: seconds on a loaded machine.
  }, 60_000);
});
