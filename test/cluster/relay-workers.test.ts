/**
 * `gamewire relay --workers 2 --cluster <url>`: two relay processes on one port, each its own
 * cluster node `<id>-w<k>`; connections spread over both still meet in one joint, and SIGTERM to
 * the primary stops them all.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HAS_NATS, NATS_SKIP_REASON } from '../helpers/nats-server.js';
import { TcpClient, hexOf } from '../relay/raw-client.js';
import { CLI_NODE_ARGS, ROOT } from '../relay/cli-process.js';
import { nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';
import { waitFor } from './harness.js';
import { workersSuite } from './workers-process.js';

describe('gamewire relay --workers (CLI)', () => {
  it('refuses --workers without --cluster, and a bad count', () => {
    const a = spawnSync(process.execPath, [...CLI_NODE_ARGS, 'relay', '--workers', '2'], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--workers needs --cluster/);
    const b = spawnSync(process.execPath, [...CLI_NODE_ARGS, 'relay', '--workers', '0', '--cluster', 'nats://127.0.0.1:1'], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--workers must be an integer/);
  });
});

/** Each engine, or why it cannot run here (the native one: no addon, GAMEWIRE_NATIVE=0, not Linux). */
const support = nativeEngineSupport();
const ENGINES: { engine: 'node' | 'native'; skip: string | null }[] = [
  { engine: 'node', skip: null },
  { engine: 'native', skip: typeof support === 'string' ? support : null },
];

describe.skipIf(!HAS_NATS).each(ENGINES)(`gamewire relay --workers 2 --engine $engine${NATS_SKIP_REASON}`, ({ engine, skip }) => {
  const suite = workersSuite();

  it('runs two cluster nodes on one port whose users meet in one joint, and stops on SIGTERM', async (ctx) => {
    if (skip !== null) ctx.skip(`native relay engine: ${skip}`);
    const primary = suite.start([...CLI_NODE_ARGS, 'relay', '--port', '0', '--workers', '2', '--engine', engine, '--cluster', suite.nats.url, '--node-id', 'wk', '--log-level', 'debug']);
    await primary.ready();
    const [w1, w2] = primary.logged<{ port: number; node: string }>('relay listening');
    expect(w1!.port).toBe(w2!.port);
    expect([w1!.node, w2!.node].sort()).toEqual(['wk-w1', 'wk-w2']);
    const port = w1!.port;
    const owner = await TcpClient.connect(port);
    owner.send('00 00 01 01 62');
    expect(hexOf(await owner.read(5))).toBe('00 03 01 00 00');
    // Enough users that both workers get some (node:cluster deals connections round-robin).
    const users = await Promise.all(Array.from({ length: 4 }, () => TcpClient.connect(port)));
    for (let i = 0; i < users.length; i++) {
      users[i]!.send('00 01 01 01 62');
      expect(hexOf(await users[i]!.read(5))).toBe('00 03 01 00 00');
      expect(hexOf(await owner.read(6))).toBe(`00 04 00 00 00 0${i}`);
    }
    owner.send('01 01 04 80 41 42 43');
    for (const u of users) expect(hexOf(await u.read(5))).toBe('04 00 41 42 43');
    for (let i = 0; i < users.length; i++) users[i]!.send(`03 00 7${i} 7${i}`);
    const got = await owner.read(5 * users.length);
    for (let i = 0; i < users.length; i++) expect(hexOf(got.subarray(i * 5, i * 5 + 5)).startsWith('04 80')).toBe(true);
    // Both workers take connections: node:cluster deals them round-robin; native workers take
    // share the port by SO_REUSEPORT, spread by a hash of the addresses, so more may be needed.
    const opened = (): Set<number> => new Set(primary.logged('connection open').map((l) => l.worker));
    const openLines = (): number => primary.logged('connection open').length;
    for (let extra = 0; opened().size < 2 && extra < 64; extra++) {
      const before = openLines();
      // It says something: the native engine reports a connection once its first bytes came.
      const extraUser = await TcpClient.connect(port);
      extraUser.send(`00 00 01 01 ${(0x63 + extra).toString(16)}`);
      await extraUser.read(5);
      await waitFor(() => openLines() > before, 2000, 'the connection logged');
    }
    expect(opened()).toEqual(new Set([1, 2]));
    if (engine === 'native') expect(primary.logged('relay listening').every((l) => l.engine === 'native')).toBe(true);
    const exited = new Promise<number | null>((resolve) => primary.child.once('exit', (code) => resolve(code)));
    primary.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
