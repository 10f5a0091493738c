/**
 * `gamewire relay --cluster <url> --node-id <id>` (src/cli.ts): two relay processes join one
 * NATS, log the cluster's status, and carry a joint from one to the other; `--node-id` alone is
 * a usage error.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HAS_NATS, NATS_SKIP_REASON, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
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
  });
});

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
});
