/**
 * `npm run bench -- mm-refusal`: what a connection flood from one address costs the mm Server
 * against what it costs the attacker (issue 14 item 2), in CPU microseconds per attempt. The
 * server runs in a child process so each side's `process.cpuUsage()` is its own.
 *
 * Cases (one attempt = connect, send HELLO, wait for WELCOME or the close, close):
 * - `mm-accept-handshake`: the budgets lifted (`connectRatePerIp: 0`, no per-IP caps): every
 *   attempt gets a session and a WELCOME, as before issue 14. The reference.
 * - `mm-refuse-connect`: the default Server; past the per-IP burst the attempts are closed at
 *   accept, before a byte is read (a few still get through at the refill rate).
 * ratio = attacker CPU ÷ server CPU per attempt: above 1, refusing is cheaper than attacking.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { report, round3, type BenchRow } from './lib.js';

const HELLO = Buffer.concat([Buffer.from([38, 0, 0, 0, 0x01]), Buffer.from('GWMM'), Buffer.from([1, 0]), Buffer.alloc(32, 7)]);
const CONCURRENCY = 32;

interface ServerReport {
  cpuUs: number;
  stats: Record<string, number>;
}

async function serverMain(mode: string): Promise<void> {
  const { Server } = await import('../src/mm/index.js');
  const options = mode === 'open' ? { connectRatePerIp: 0, maxConnectionsPerIp: 0, maxPendingHandshakesPerIp: 1000, maxPendingHandshakes: 1000 } : {};
  const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true, ...options });
  // The application's poll loop, as a game would run it.
  const poll = setInterval(() => server.pollEvents(), 16);
  process.on('message', (m: string) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpuUs: u.user + u.system, stats: { ...server.stats() } } satisfies ServerReport);
    } else if (m === 'exit') {
      clearInterval(poll);
      void server.close().then(() => process.exit(0));
    }
  });
  process.send!({ port: server.getPort() });
}

function ask(child: ChildProcess): Promise<ServerReport> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as ServerReport));
    child.send('cpu');
  });
}

/** `n` attempts, `CONCURRENCY` at a time, from `localAddress`. */
function flood(port: number, localAddress: string, n: number): Promise<{ welcomed: number; refused: number }> {
  return new Promise((resolve) => {
    let started = 0;
    let done = 0;
    let welcomed = 0;
    let refused = 0;
    const one = (): void => {
      if (started >= n) return;
      started++;
      const s = connect({ host: '127.0.0.1', port, localAddress });
      let got = false;
      s.once('connect', () => s.write(HELLO));
      s.once('data', () => {
        got = true;
        welcomed++;
        s.destroy();
      });
      s.on('error', () => {});
      s.once('close', () => {
        if (!got) refused++;
        if (++done === n) resolve({ welcomed, refused });
        else one();
      });
    };
    for (let i = 0; i < CONCURRENCY; i++) one();
  });
}

async function runCase(caseId: string, mode: string, localAddress: string, n: number): Promise<BenchRow> {
  const child = fork(fileURLToPath(import.meta.url), ['--server', mode], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise<{ port: number }>((resolve) => child.once('message', (m) => resolve(m as { port: number })));
  // Warm both sides' JIT on another address, so the bucket of the measured one starts full.
  await flood(port, '127.0.0.40', 200);
  const s0 = await ask(child);
  const a0 = process.cpuUsage();
  const t0 = performance.now();
  const outcome = await flood(port, localAddress, n);
  const wallMs = performance.now() - t0;
  const a1 = process.cpuUsage(a0);
  const s1 = await ask(child);
  child.send('exit');
  await new Promise((r) => child.once('exit', r));
  const serverUs = (s1.cpuUs - s0.cpuUs) / n;
  const attackerUs = (a1.user + a1.system) / n;
  return {
    case: caseId,
    subject: 'server CPU',
    baseline: 'attacker CPU',
    ratio: attackerUs / serverUs,
    subjectOpsPerSec: 1e6 / serverUs,
    baselineOpsPerSec: 1e6 / attackerUs,
    serverCpuUsPerAttempt: round3(serverUs),
    attackerCpuUsPerAttempt: round3(attackerUs),
    attempts: n,
    attemptsPerSec: round3((n * 1000) / wallMs),
    welcomed: outcome.welcomed,
    refused: outcome.refused,
    refusedRate: s1.stats.refusedRate! - s0.stats.refusedRate!,
  };
}

if (process.argv[2] === '--server') {
  await serverMain(process.argv[3] ?? 'default');
} else {
  const n = Number(process.argv[2] ?? 10_000);
  const rows = [await runCase('mm-accept-handshake', 'open', '127.0.0.51', Math.min(n, 5000)), await runCase('mm-refuse-connect', 'default', '127.0.0.50', n)];
  report('mm-refusal', rows, { note: 'CPU µs per attempt (connect, HELLO, WELCOME or close); ratio = attacker ÷ server; subject/baseline ops/s = attempts per CPU-second' });
  for (const r of rows) {
    process.stdout.write(
      `${r.case}: server ${r.serverCpuUsPerAttempt} µs, attacker ${r.attackerCpuUsPerAttempt} µs per attempt; ` +
        `${r.attemptsPerSec} attempts/s; ${r.welcomed} welcomed, ${r.refused} refused (${r.refusedRate} by the per-IP rate)\n`,
    );
  }
}
