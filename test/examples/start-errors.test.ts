/**
 * Every example that listens or needs a peer says in one line why it cannot start, and exits 1,
 * instead of printing a stack (issue 16 item 7): a port in use, no relay, no server.
 */
import { spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deadPort, ROOT } from '../helpers/exits-by-itself.js';

const held: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const release of held.splice(0)) await release();
});

/** Hold a TCP port on 127.0.0.1; @returns it. */
async function holdTcp(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  held.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as { port: number }).port;
}

/** Hold a UDP port on 127.0.0.1; @returns it. */
async function holdUdp(): Promise<number> {
  const socket: UdpSocket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  held.push(() => new Promise<void>((r) => socket.close(() => r())));
  return socket.address().port;
}

/** Run an example; @returns its exit code and output. */
function example(file: string, args: string[], boundMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), boundMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exit 1 with exactly one line on stderr, no stack frames. */
function oneLine(run: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(run.code).toBe(1);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(pattern);
}

describe('examples that cannot start print one line and exit 1', () => {
  it('udp-echo server on a UDP port in use', async () => {
    const port = await holdUdp();
    oneLine(await example('udp-echo/server.ts', [String(port)]), new RegExp(`^udp-echo server: port 127\\.0\\.0\\.1:${port} is already in use \\(EADDRINUSE\\)`));
  });

  it('events server on a UDP port in use', async () => {
    const port = await holdUdp();
    oneLine(await example('events/server.ts', [String(port)]), /^events server: port .*is already in use \(EADDRINUSE\)/);
  });

  it('events client with no server', async () => {
    const port = await holdUdp(); // a silent peer: OHAI goes unanswered
    oneLine(await example('events/client.ts', [String(port)]), new RegExp(`^events client: no events server answered at 127\\.0\\.0\\.1:${port}`));
  });

  it('peote-chat room and user with no relay', async () => {
    const port = await deadPort();
    oneLine(await example('peote-chat/server.ts', ['--port', String(port)]), /^peote-chat room: create failed: DISCONNECT, relay unreachable: connect to 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/);
    oneLine(await example('peote-chat/client.ts', ['--port', String(port), '--name', 'x']), /^peote-chat client: enter failed: DISCONNECT, relay unreachable: .*ECONNREFUSED/);
  });

  it('the web example with its HTTP port or its relay port in use', async () => {
    const relayPort = await deadPort();
    const httpPort = await holdTcp();
    const http = await example('web/serve.ts', ['--port', String(httpPort), '--relay-port', String(relayPort)], 60_000);
    oneLine(http, new RegExp(`^gamewire dots: port 127\\.0\\.0\\.1:${httpPort} is already in use \\(EADDRINUSE\\)`));
    const busyRelay = await holdTcp();
    const relay = await example('web/serve.ts', ['--port', '0', '--relay-port', String(busyRelay)], 60_000);
    expect(relay.code).toBe(1);
    expect(relay.stderr).not.toMatch(/^\s+at /m);
    expect(relay.stderr).toMatch(new RegExp(`^gamewire dots: .*${busyRelay}.*`, 'm'));
  }, 120_000);
});
