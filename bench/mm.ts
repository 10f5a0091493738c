/**
 * `npm run bench -- mm [seconds]`: small tables per second through the mm style, client → server
 * (each acknowledged) and broadcast (each client's table sent by the server to every client),
 * plain and encrypted, against socket.io (websocket transport, the same tables as JSON) and a raw
 * `ws` baseline (JSON text frames), all measured in this run.
 *
 * Load: the engine of `gamewire bench` (src/bench), closed loop, WINDOW tables in flight per
 * client, every table stamped and checked. gamewire mm is driven by the mm driver against an mm
 * Server running the mm bench responder (serveMmBench); the baselines by the drivers of
 * bench/drivers/json-messages.ts, which send the same tables as JSON and get the same acks. Every
 * server runs in a child process of its own (its CPU is read there); the generator is this
 * process. Each subject runs ROUNDS times, interleaved with the others, and its round with the
 * most tables per second counts (the machine is shared). Case ids are stable (STYLE.md §10).
 */
import { createServer as createHttpServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { Server as SocketIoServer } from 'socket.io';
import { implementationOf } from '../src/core/index.js';
import { bench, benchWith, type BenchMode, type BenchOptions } from '../src/bench/index.js';
import { serveMmBench } from '../src/bench/responders/mm.js';
import { ackFor, jsonDriver, SOCKET_IO_EVENT, type JsonBenchMessage, type JsonTransport } from './drivers/json-messages.js';
import { announcePort, engineFields, engineRun, report, round3, serveUntilParentGoes, spawnServer, stopServer, type BenchRow, type EngineFigures } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const KEY = '0C03EA65238DD2C25EB87CE563868098';
/** Payload bytes of every table (its stamp and filler, base64 in the table): a small update. */
const PAYLOAD_BYTES = 32;
const CLIENTS = 4;
/** Closed loop: tables in flight per client. */
const WINDOW = 256;
const WARMUP_SEC = 0.5;
const MEASURE_S = Number(process.argv[2] ?? 2);
/** Each subject runs ROUNDS times, interleaved with the others; the best round counts (the machine is shared). */
const ROUNDS = Number(process.env.BENCH_MM_ROUNDS ?? 5);

type Direction = 'c2s' | 'broadcast';
type Subject = 'mm' | 'mm-aes' | JsonTransport;

// ---- server children ----------------------------------------------------------------------------

async function serve(kind: Subject): Promise<void> {
  if (kind === 'mm' || kind === 'mm-aes') {
    const server = await serveMmBench(kind === 'mm-aes' ? { key: KEY } : {});
    announcePort(server.port);
    return;
  }
  const http = createHttpServer();
  if (kind === 'socket.io') {
    const io = new SocketIoServer(http, { transports: ['websocket'], serveClient: false });
    io.on('connection', (socket) =>
      socket.on(SOCKET_IO_EVENT, (m: JsonBenchMessage) => {
        const ack = ackFor(m);
        if (ack !== null) socket.emit(SOCKET_IO_EVENT, ack);
        else io.emit(SOCKET_IO_EVENT, m);
      }),
    );
  } else {
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    const peers = new Set<WebSocket>();
    wss.on('connection', (ws) => {
      peers.add(ws);
      ws.on('close', () => peers.delete(ws));
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as JsonBenchMessage;
        const ack = ackFor(m);
        if (ack !== null) ws.send(JSON.stringify(ack));
        else {
          const text = JSON.stringify(m);
          for (const p of peers) p.send(text);
        }
      });
    });
  }
  http.listen(0, '127.0.0.1', () => announcePort((http.address() as { port: number }).port));
}

// ---- load ---------------------------------------------------------------------------------------

async function measure(subject: Subject, direction: Direction): Promise<EngineFigures> {
  const server = await spawnServer(SELF, [subject]);
  try {
    const options: BenchOptions = {
      kind: 'mm',
      host: '127.0.0.1',
      port: server.port,
      mode: direction satisfies BenchMode,
      users: CLIENTS,
      size: PAYLOAD_BYTES,
      window: WINDOW,
      durationSec: MEASURE_S,
      warmupSec: WARMUP_SEC,
      ...(subject === 'mm-aes' ? { key: KEY } : {}),
    };
    return await engineRun(`mm ${direction} ${subject}`, server, MEASURE_S, (onProgress) =>
      subject === 'mm' || subject === 'mm-aes' ? bench({ ...options, onProgress }) : benchWith(jsonDriver(subject), { ...options, onProgress }),
    );
  } finally {
    await stopServer(server);
  }
}

/** The round with the most tables per second. */
function best(a: EngineFigures | null, b: EngineFigures): EngineFigures {
  return a === null || b.framesPerSec > a.framesPerSec ? b : a;
}

/** CPU µs per table of both ends (server child + generator), as the suite has always reported it. */
function cpuUsPerMsg(f: EngineFigures): number {
  return f.serverCpuUsPerFrame + f.loadCpuUsPerFrame;
}

export async function run(): Promise<void> {
  const rows: BenchRow[] = [];
  for (const direction of ['c2s', 'broadcast'] as const) {
    let plain: EngineFigures | null = null;
    let encrypted: EngineFigures | null = null;
    let sio: EngineFigures | null = null;
    let ws: EngineFigures | null = null;
    for (let r = 0; r < ROUNDS; r++) {
      plain = best(plain, await measure('mm', direction));
      encrypted = best(encrypted, await measure('mm-aes', direction));
      sio = best(sio, await measure('socket.io', direction));
      ws = best(ws, await measure('ws', direction));
    }
    const id = `mm-${direction}-small`;
    // ratio is throughput; the CPU figures (µs per delivered table, server + generator) are
    // steadier on a shared machine and show the same comparison.
    const row = (c: string, subject: string, s: EngineFigures, baseline: string, b: EngineFigures): BenchRow => ({
      case: c,
      subject,
      baseline,
      ratio: s.framesPerSec / b.framesPerSec,
      ...engineFields(s, b),
      subjectCpuUsPerMsg: round3(cpuUsPerMsg(s)),
      baselineCpuUsPerMsg: round3(cpuUsPerMsg(b)),
      cpuRatio: round3(cpuUsPerMsg(b) / cpuUsPerMsg(s)),
    });
    rows.push(row(`${id}-plain`, 'gamewire mm', plain!, 'socket.io', sio!));
    rows.push(row(`${id}-encrypted`, 'gamewire mm aes', encrypted!, 'socket.io', sio!));
    rows.push(row(`${id}-plain-vs-ws`, 'gamewire mm', plain!, 'ws (raw JSON)', ws!));
    rows.push(row(`${id}-encryption-cost`, 'gamewire mm aes', encrypted!, 'gamewire mm', plain!));
  }
  report('mm', rows, {
    implementations: { aead: implementationOf('aead'), frameDecoder: implementationOf('frameDecoder'), eventRing: implementationOf('eventRing') },
    generator: 'gamewire bench engine (src/bench), one thread, closed loop; mm: the mm driver + serveMmBench; baselines: bench/drivers/json-messages.ts',
    clients: CLIENTS,
    payloadBytes: PAYLOAD_BYTES,
    seconds: MEASURE_S,
    warmupSec: WARMUP_SEC,
    rounds: ROUNDS,
    window: WINDOW,
    note: 'ops/s = delivered tables/s (c2s: acknowledged tables; broadcast: tables received by all clients together); p50/p90/p99 = send to ack (c2s) or to delivery (broadcast); CpuUsPerMsg = server + generator CPU per table; cpuRatio = baseline ÷ subject CPU per table',
    targets: 'plain and encrypted >= 2x socket.io; encryption-cost ratio >= 0.75',
  });
  for (const r of rows) {
    process.stdout.write(
      `# ${r.case}: ${r.subject} p50 ${r.subjectP50Ms} p99 ${r.subjectP99Ms} ms cpu ${r.subjectServerCpuUsPerFrame}+${r.subjectLoadCpuUsPerFrame} us | ` +
        `${r.baseline} p50 ${r.baselineP50Ms} p99 ${r.baselineP99Ms} ms cpu ${r.baselineServerCpuUsPerFrame}+${r.baselineLoadCpuUsPerFrame} us\n`,
    );
  }
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  serveUntilParentGoes();
  void serve(process.argv[serveAt + 1] as Subject);
} else if (process.argv[1] === SELF) {
  await run();
  // socket.io clients keep engine timers alive for a while after close; the suite is done.
  process.exit(0);
}
