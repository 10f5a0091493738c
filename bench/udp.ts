/**
 * UDP sessions bench: 64 B datagrams client → server through an established UdpPipe session
 * (event-loop mode), each acknowledged by the server, against raw `node:dgram` sockets carrying the
 * same datagrams and acks, measured in the same run. Run with `npm run bench -- udp`; writes
 * bench/results/udp.json. About 40 s (BENCH_UDP_ROUNDS × 2 runs of warm-up + BENCH_UDP_SECONDS, each
 * with a server child of its own).
 *
 * Load: the engine of `gamewire bench` (src/bench), closed loop, WINDOW datagrams in flight (well
 * below the default socket receive buffer, so the loopback does not drop), every payload stamped
 * and checked. The session is driven by the udp driver against a UdpPipe server running the udp
 * bench responder (serveUdpBench); the baseline by bench/drivers/raw-dgram.ts against a raw
 * dgram responder. Both servers run in child processes (their CPU is read there).
 */
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { bench, benchWith, type BenchOptions } from '../src/bench/index.js';
import { serveUdpBench } from '../src/bench/responders/udp.js';
import { rawAnswer, rawDgramDriver } from './drivers/raw-dgram.js';
import { announcePort, engineFields, engineRun, median, report, serveUntilParentGoes, spawnServer, stopServer, type BenchRow, type EngineFigures } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const PAYLOAD_BYTES = 64;
/**
 * Datagrams in flight at most. 256 (the hand-written loop's window) lost datagrams on this loaded
 * 2-core machine: a small datagram holds far more of a socket's receive buffer than its bytes
 * (its kernel buffer), and each loss holds a slot of the engine's ring until FRAME_TIMEOUT_MS.
 */
const WINDOW = 64;
/** A datagram or ack lost on the loopback frees its slot after this (ms); the engine counts it lost. */
const FRAME_TIMEOUT_MS = 500;
const CLIENTS = 1;
const WARMUP_SEC = 0.5;
// Alternating rounds, ratio per pair: the machine is shared, so drift is cancelled by pairing
// rather than averaged into both figures.
const SECONDS = Number(process.env.BENCH_UDP_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_UDP_ROUNDS ?? 5);

type Subject = 'session' | 'dgram';

// ---- server children ----------------------------------------------------------------------------

async function serve(kind: Subject): Promise<void> {
  if (kind === 'session') {
    // Keepalive as in production (UdpPipe's default), so its cost is included.
    const server = await serveUdpBench();
    announcePort(server.port);
    return;
  }
  const socket = createSocket('udp4');
  socket.on('message', (msg, from) => {
    const answer = rawAnswer(msg);
    if (answer !== null) socket.send(answer, from.port, from.address);
  });
  socket.bind(0, '127.0.0.1', () => announcePort(socket.address().port));
}

// ---- load ---------------------------------------------------------------------------------------

async function measure(subject: Subject): Promise<EngineFigures> {
  const server = await spawnServer(SELF, [subject]);
  try {
    const options: BenchOptions = {
      kind: 'udp',
      host: '127.0.0.1',
      port: server.port,
      mode: 'c2s',
      users: CLIENTS,
      size: PAYLOAD_BYTES,
      window: WINDOW,
      frameTimeoutMs: FRAME_TIMEOUT_MS,
      durationSec: SECONDS,
      warmupSec: WARMUP_SEC,
    };
    return await engineRun(`udp ${subject}`, server, SECONDS, (onProgress) =>
      subject === 'session' ? bench({ ...options, onProgress }) : benchWith(rawDgramDriver, { ...options, onProgress }),
    );
  } finally {
    await stopServer(server);
  }
}

/** CPU µs per datagram of both ends (server child + generator). */
function cpuUsPerMsg(f: EngineFigures): number {
  return f.serverCpuUsPerFrame + f.loadCpuUsPerFrame;
}

/** Run the suite and write bench/results/udp.json. */
export async function run(): Promise<BenchRow[]> {
  const raws: EngineFigures[] = [];
  const sessions: EngineFigures[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // alternate which path goes first
    const first = r % 2 === 0;
    const a = await measure(first ? 'dgram' : 'session');
    const b = await measure(first ? 'session' : 'dgram');
    const raw = first ? a : b;
    const session = first ? b : a;
    raws.push(raw);
    sessions.push(session);
    ratios.push(session.framesPerSec / raw.framesPerSec);
    cpuRatios.push(cpuUsPerMsg(raw) / cpuUsPerMsg(session));
  }
  const subject = median(sessions.map((s) => s.framesPerSec));
  const baseline = median(raws.map((s) => s.framesPerSec));
  // The figures of the round whose ratio is the median (its p50/p99 and CPU belong together).
  const ratio = median(ratios);
  const mid = ratios.map((x) => Math.abs(x - ratio)).reduce((m, d, i, all) => (d < all[m]! ? i : m), 0);
  const rows: BenchRow[] = [
    {
      case: `udp-session-send-${PAYLOAD_BYTES}B`,
      subject: 'UdpPipe session',
      baseline: 'raw node:dgram',
      // median of the per-round ratios (each round measures both paths back to back)
      ratio,
      ratioOfMedians: subject / baseline,
      // datagrams per CPU second of both ends: insensitive to other load on the machine
      cpuRatio: median(cpuRatios),
      ...engineFields(sessions[mid]!, raws[mid]!),
      subjectMedianOpsPerSec: Math.round(subject),
      baselineMedianOpsPerSec: Math.round(baseline),
      rounds: ROUNDS,
      secondsPerRun: SECONDS,
      window: WINDOW,
      subjectRounds: sessions.map((s) => Math.round(s.framesPerSec)),
      baselineRounds: raws.map((s) => Math.round(s.framesPerSec)),
    },
  ];
  report('udp', rows, {
    payloadBytes: PAYLOAD_BYTES,
    direction: 'client to server, each datagram acknowledged',
    generator: 'gamewire bench engine (src/bench), one thread, closed loop; session: the udp driver + serveUdpBench; baseline: bench/drivers/raw-dgram.ts',
    clients: CLIENTS,
    warmupSec: WARMUP_SEC,
    note: 'ops/s, p50/p90/p99 and CPU figures: the round whose ratio is the median; p50/p90/p99 = send to ack; LoadCpu = generator CPU per datagram; cpuRatio = raw ÷ session CPU (server + generator) per datagram, median of the rounds',
    target: 'ratio >= 0.8',
  });
  const r = rows[0]!;
  process.stdout.write(
    `# ${r.case}: session p50 ${r.subjectP50Ms} p99 ${r.subjectP99Ms} ms cpu ${r.subjectServerCpuUsPerFrame}+${r.subjectLoadCpuUsPerFrame} us | ` +
      `raw p50 ${r.baselineP50Ms} p99 ${r.baselineP99Ms} ms cpu ${r.baselineServerCpuUsPerFrame}+${r.baselineLoadCpuUsPerFrame} us\n`,
  );
  return rows;
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  serveUntilParentGoes();
  void serve(process.argv[serveAt + 1] as Subject);
} else if (process.argv[1] === SELF) {
  await run();
}
