/**
 * UDP sessions bench: messages/s of 64 B datagrams client → server through an established
 * UdpPipe session (event-loop mode), against raw `node:dgram` send/receive in the same run,
 * same process, same flow control (at most WINDOW datagrams in flight, so the loopback never
 * drops and both sides measure end-to-end throughput, not the sender's speed).
 * Run with `npm run bench -- udp`; writes bench/results/udp.json. About 20 s
 * (BENCH_UDP_ROUNDS × 2 × BENCH_UDP_ROUND_MS plus set-up).
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { setImmediate as tick } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { UdpPipe } from '../src/udp/index.js';
import { report, type BenchRow } from './lib.js';

const PAYLOAD_BYTES = 64;
/** Datagrams in flight at most: well below the default socket receive buffer. */
const WINDOW = 256;
/** Datagrams sent per turn of the event loop. */
const BATCH = 64;
// Many short alternating rounds, ratio per pair: the machine is shared, so drift is cancelled
// by pairing rather than averaged into both figures.
const ROUND_MS = Number(process.env.BENCH_UDP_ROUND_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_UDP_ROUNDS ?? 8);

/** A sender and a receive counter under test. */
interface Path {
  send(payload: Buffer): void;
  received(): number;
  close(): void;
}

async function rawPath(): Promise<Path> {
  let count = 0;
  const server = createSocket('udp4');
  server.on('message', () => count++);
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
  const port = server.address().port;
  const client: Socket = createSocket('udp4');
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  return {
    send: (p) => client.send(p, port, '127.0.0.1'),
    received: () => count,
    close: () => {
      client.close();
      server.close();
    },
  };
}

async function sessionPath(): Promise<Path> {
  let count = 0;
  // Keepalive as in production (1 s), so its cost is included.
  const server = new UdpPipe({ token: 'bench-token' });
  server.onNewMessage = () => count++;
  const port = await server.start(0, '127.0.0.1');
  const client = new UdpPipe({ token: 'bench-token' });
  const session = client.connect('127.0.0.1', port);
  await new Promise<void>((resolve, reject) => {
    client.onConnect = () => resolve();
    client.onDisconnect = (_s, r) => reject(new Error(`handshake failed: ${r}`));
  });
  return {
    send: (p) => {
      client.send(p);
    },
    received: () => count,
    close: () => {
      void session;
      client.destroy();
      server.destroy();
    },
  };
}

/** Messages per wall-clock second and per CPU second (user + system of this process, both ends) through `path` during `ms`. */
async function measure(path: Path, ms: number): Promise<{ wall: number; cpu: number }> {
  const payload = Buffer.alloc(PAYLOAD_BYTES, 0x61);
  let sent = 0;
  const base = path.received();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < BATCH && sent - (path.received() - base) < WINDOW; i++) {
      path.send(payload);
      sent++;
    }
    await tick();
  }
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const n = path.received() - base;
  return { wall: n / (elapsed / 1000), cpu: n / ((cpu.user + cpu.system) / 1e6) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Run the suite and write bench/results/udp.json. */
export async function run(): Promise<BenchRow[]> {
  const raw = await rawPath();
  const session = await sessionPath();
  // warm-up both paths
  await measure(raw, 300);
  await measure(session, 300);
  const rawRates: number[] = [];
  const sessionRates: number[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // alternate which path goes first
    const first = r % 2 === 0;
    const a = await measure(first ? raw : session, ROUND_MS);
    const b = await measure(first ? session : raw, ROUND_MS);
    const rawRate = first ? a : b;
    const sessionRate = first ? b : a;
    rawRates.push(rawRate.wall);
    sessionRates.push(sessionRate.wall);
    ratios.push(sessionRate.wall / rawRate.wall);
    cpuRatios.push(sessionRate.cpu / rawRate.cpu);
  }
  raw.close();
  session.close();
  const subject = median(sessionRates);
  const baseline = median(rawRates);
  const rows: BenchRow[] = [
    {
      case: `udp-session-send-${PAYLOAD_BYTES}B`,
      subject: 'UdpPipe session',
      baseline: 'raw node:dgram',
      // median of the per-round ratios (each round measures both paths back to back)
      ratio: median(ratios),
      ratioOfMedians: subject / baseline,
      // messages per CPU second (both ends run in this process): insensitive to other load on the machine
      cpuRatio: median(cpuRatios),
      subjectOpsPerSec: subject,
      baselineOpsPerSec: baseline,
      rounds: ROUNDS,
      roundMs: ROUND_MS,
      window: WINDOW,
      subjectRounds: sessionRates.map(Math.round),
      baselineRounds: rawRates.map(Math.round),
    },
  ];
  report('udp', rows, { payloadBytes: PAYLOAD_BYTES, direction: 'client to server', target: 'ratio >= 0.8' });
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
