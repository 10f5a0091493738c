/**
 * `gamewire relay` (src/cli.ts) as a child process: --help, bad flags, start, serve, and a
 * graceful stop on SIGTERM and SIGINT.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TcpClient, closeAll } from './raw-client.js';
import { startRelayProcess, type RelayProcess } from './cli-process.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(root, 'src', 'cli.ts');
const NODE_ARGS = ['--import', 'tsx', CLI];
const children: ChildProcess[] = [];
let tmp: string | undefined;

afterEach(() => {
  closeAll();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** Start the relay; resolve with the child, its port and its log lines once it listens. */
function startRelay(args: string[]): Promise<RelayProcess> {
  return startRelayProcess(args, children, 10_000);
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('gamewire relay (CLI)', () => {
  it('prints usage for --help and exits 0', () => {
    const out = spawnSync(process.execPath, [...NODE_ARGS, 'relay', '--help'], { cwd: root, encoding: 'utf8', timeout: 15_000 });
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/usage: gamewire relay/);
    expect(out.stdout).toMatch(/--metrics-port/);
  });

  it('refuses an unknown flag with exit code 2', () => {
    const out = spawnSync(process.execPath, [...NODE_ARGS, 'relay', '--frobnicate'], { cwd: root, encoding: 'utf8', timeout: 15_000 });
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/unknown option --frobnicate/);
  });

  it('serves clients and shuts down gracefully on SIGTERM', async () => {
    const { child, port, lines } = await startRelay([]);
    const owner = await TcpClient.connect(port);
    owner.send('00 00 01 01 6A');
    expect(await owner.readHex('00 03 01 00 00')).toBe('00 03 01 00 00');
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
    expect(await owner.waitClosed(2000)).toBe(true);
    expect(lines.some((l) => l.includes('"relay closed"'))).toBe(true);
  });

  it('reads --config, serves metrics, and stops on SIGINT', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gamewire-cli-'));
    const config = join(tmp, 'relay.json');
    writeFileSync(config, JSON.stringify({ maxOwnJoints: 1, logLevel: 'warn' }));
    const { child, port, metricsPort } = await startRelay(['--config', config, '--metrics-port', '0', '--log-level', 'info']);
    const owner = await TcpClient.connect(port);
    owner.send('00 00 01 01 61 00 00 02 01 62');
    expect(await owner.readHex('00 03 01 00 00 00 03 02 01 01')).toBe('00 03 01 00 00 00 03 02 01 01');
    const text = await new Promise<string>((resolve, reject) => {
      get(`http://127.0.0.1:${metricsPort}/metrics`, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    expect(text).toMatch(/gamewire_relay_joints 1/);
    child.kill('SIGINT');
    expect(await exitOf(child)).toBe(0);
  });
});
