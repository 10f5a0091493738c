/**
 * `gamewire relay --cluster <url> --node-id <id>` (src/cli.ts): two relay processes join one
 * NATS, log the cluster's status, and carry a joint from one to the other; `--node-id` alone is
 * a usage error. `--data-link tcp|nats --data-host H --data-port P`: the batches between the two
 * go over a TCP connection to P (seen in the data link metrics) or through NATS alone.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HAS_NATS, NATS_SKIP_REASON, freePort, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { TcpClient, closeAll, hexOf } from '../relay/raw-client.js';
import { startRelayProcess, type RelayProcess } from '../relay/cli-process.js';
import { waitFor } from './harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE_ARGS = ['--import', 'tsx', join(root, 'src', 'cli.ts')];
const children: ChildProcess[] = [];

/** Start `gamewire relay --port 0 ...args`; resolves with its port and its log lines so far (kept growing). */
function startRelay(args: string[]): Promise<RelayProcess> {
  return startRelayProcess(args, children, 15_000);
}

describe('gamewire relay --cluster (CLI)', () => {
  it('refuses --node-id without --cluster', () => {
    const out = spawnSync(process.execPath, [...NODE_ARGS, 'relay', '--node-id', 'a'], { cwd: root, encoding: 'utf8', timeout: 15_000 });
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/--node-id needs --cluster/);
  });

  it('lists --cluster and --node-id in --help', () => {
    const out = spawnSync(process.execPath, [...NODE_ARGS, 'relay', '--help'], { cwd: root, encoding: 'utf8', timeout: 15_000 });
    expect(out.stdout).toMatch(/--cluster <url>/);
    expect(out.stdout).toMatch(/--node-id <id>/);
    expect(out.stdout).toMatch(/--data-link <t>/);
    expect(out.stdout).toMatch(/--data-host <addr>/);
    expect(out.stdout).toMatch(/--data-port <n>/);
    expect(out.stdout).toMatch(/--worker-handoff-timeout-ms <n>/);
  });

  it('refuses bad data link flags, and data flags without --cluster', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [...NODE_ARGS, 'relay', ...args], { cwd: root, encoding: 'utf8', timeout: 15_000 });
    const cases: [string[], RegExp][] = [
      [['--cluster', 'nats://127.0.0.1:1', '--data-link', 'udp'], /--data-link must be tcp or nats/],
      [['--cluster', 'nats://127.0.0.1:1', '--data-port', '65536'], /--data-port must be an integer in 0\.\.65535/],
      [['--data-port', '7000'], /--data-port needs --cluster/],
    ];
    for (const [args, message] of cases) {
      const out = run(...args);
      expect(out.status, args.join(' ')).toBe(2);
      expect(out.stderr).toMatch(message);
    }
  });
});

/** The value of `name` (with its labels, e.g. `x{direction="inbound"}`) in the relay's metrics text; NaN when absent. */
function metric(port: number, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(`http://127.0.0.1:${port}/metrics`, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        const line = text.split('\n').find((l) => l.startsWith(`${name} `));
        resolve(line === undefined ? NaN : Number(line.slice(name.length + 1)));
      });
    }).on('error', reject);
  });
}

/** Resolves once 127.0.0.1:port accepts a connection (closed at once), rejects when refused. */
function accepts(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve();
    });
    socket.on('error', reject);
  });
}

describe.skipIf(!HAS_NATS)(`gamewire relay --cluster, two processes${NATS_SKIP_REASON}`, () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(() => {
    closeAll();
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  });
  afterAll(() => nats?.dispose());

  it('joins, logs its peers, and carries a joint across the two', async () => {
    const [x, y] = await Promise.all([startRelay(['--cluster', nats.url, '--node-id', 'cli-x']), startRelay(['--cluster', nats.url, '--node-id', 'cli-y'])]);
    expect(x.lines.some((l) => l.includes('"cluster joined"') && l.includes('"node":"cli-x"'))).toBe(true);
    await waitFor(() => x.lines.some((l) => l.includes('"cluster peer up"') && l.includes('"peer":"cli-y"')), 5000, 'x to log y up');
    const owner = await TcpClient.connect(x.port);
    owner.send('00 00 01 01 62');
    expect(hexOf(await owner.read(5))).toBe('00 03 01 00 00');
    const user = await TcpClient.connect(y.port);
    user.send('00 01 01 01 62');
    expect(hexOf(await user.read(5))).toBe('00 03 01 00 00');
    expect(hexOf(await owner.read(6))).toBe('00 04 00 00 00 00');
    user.send('04 00 41 42 43');
    expect(hexOf(await owner.read(6))).toBe('05 80 00 41 42 43');
  });

  for (const dataLink of ['tcp', 'nats'] as const) {
    it(`--data-link ${dataLink}${dataLink === 'tcp' ? ' --data-host --data-port' : ''}: the batches take that way`, async () => {
      const dataPort = await freePort();
      const flags = dataLink === 'tcp' ? ['--data-link', 'tcp', '--data-host', '127.0.0.1', '--data-port', String(dataPort)] : ['--data-link', 'nats'];
      const [x, y] = await Promise.all([
        startRelay(['--cluster', nats.url, '--node-id', `dl-${dataLink}-x`, '--metrics-port', '0', ...flags]),
        startRelay(['--cluster', nats.url, '--node-id', `dl-${dataLink}-y`, '--metrics-port', '0', ...(dataLink === 'nats' ? flags : [])]),
      ]);
      await waitFor(() => x.lines.some((l) => l.includes('"cluster peer up"') && l.includes(`"peer":"dl-${dataLink}-y"`)), 5000, 'x to log y up');
      if (dataLink === 'tcp') await accepts(dataPort);
      // A joint id of this case's own: the other cases' relays may still hold theirs.
      const id = dataLink === 'tcp' ? '74' : '6e';
      const owner = await TcpClient.connect(x.port);
      owner.send(`00 00 01 01 ${id}`);
      expect(hexOf(await owner.read(5))).toBe('00 03 01 00 00');
      const user = await TcpClient.connect(y.port);
      user.send(`00 01 01 01 ${id}`);
      expect(hexOf(await user.read(5))).toBe('00 03 01 00 00');
      expect(hexOf(await owner.read(6))).toBe('00 04 00 00 00 00');
      // Frames until y's data connection to x is up (it is dialed at y's first batch toward x).
      const inbound = 'gamewire_relay_cluster_data_link_connections{direction="inbound"}';
      const outbound = 'gamewire_relay_cluster_data_link_connections{direction="outbound"}';
      for (let i = 0; i < 20; i++) {
        user.send('04 00 41 42 43');
        expect(hexOf(await owner.read(6))).toBe('05 80 00 41 42 43');
        if (dataLink === 'nats' || (await metric(y.metricsPort!, outbound)) === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (dataLink === 'tcp') {
        expect(await metric(y.metricsPort!, outbound)).toBe(1);
        expect(await metric(x.metricsPort!, inbound)).toBe(1);
        expect(await metric(y.metricsPort!, 'gamewire_relay_cluster_data_link_dials_total')).toBeGreaterThanOrEqual(1);
        user.send('04 00 44 45 46');
        expect(hexOf(await owner.read(6))).toBe('05 80 00 44 45 46');
        expect(await metric(x.metricsPort!, 'gamewire_relay_cluster_data_link_bytes_received_total')).toBeGreaterThan(0);
      } else {
        expect(await metric(y.metricsPort!, outbound)).toBe(0);
        expect(await metric(x.metricsPort!, inbound)).toBe(0);
        expect(await metric(y.metricsPort!, 'gamewire_relay_cluster_data_link_dials_total')).toBe(0);
        expect(await metric(y.metricsPort!, 'gamewire_relay_cluster_link_batches_sent_total')).toBeGreaterThan(0);
      }
      expect(await metric(x.metricsPort!, 'gamewire_relay_cluster_link_duplicate_batches_total')).toBe(0);
      expect(await metric(x.metricsPort!, 'gamewire_relay_worker_handoffs_total{result="moved"}')).toBe(0);
    });
  }
});
