/**
 * `npm run bench -- mm [seconds]`: small-table messages per second through the mm style, client → server
 * and server → clients (broadcast), plain and encrypted, against socket.io (websocket transport,
 * the same tables as JSON) and a raw `ws` baseline (JSON text frames), all measured in this run.
 *
 * Every subject runs in this one process (server and clients share the event loop) with the same
 * closed loop: senders keep at most WINDOW messages in flight, so no subject is measured into
 * its own buffer overflow. Case ids are stable (STYLE.md §10).
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { setImmediate as tick } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { Server as SocketIoServer } from 'socket.io';
import { io as socketIoClient, type Socket as SocketIoClient } from 'socket.io-client';
import { implementationOf } from '../src/core/index.js';
import { Server, Client, EventType, pollEvents } from '../src/mm/index.js';
import { report, type BenchRow } from './lib.js';

const KEY = '0C03EA65238DD2C25EB87CE563868098';
/** The table every subject sends: a typical position update. */
const TABLE = { id: 7, x: 12.5, y: -3.25, angle: 1.57, kind: 'move' };
const CLIENTS = 4;
const BATCH = 200;
const WINDOW = 20_000;
const WARMUP_S = 0.4;
const MEASURE_S = Number(process.argv[2] ?? 1);
/** Each subject runs ROUNDS times, interleaved with the others; the best round counts (the machine is shared). */
const ROUNDS = 3;

/** One subject in one direction: send a batch, count what arrived, close. */
interface Rig {
  send(batch: number): void;
  /** Messages delivered so far (may poll). */
  received(): number;
  close(): Promise<void>;
}

type Direction = 'c2s' | 'broadcast';

/** Throughput (messages delivered per second) and process CPU per delivered message (µs). */
interface Sample {
  rate: number;
  cpuUsPerMsg: number;
}

async function measure(make: () => Promise<Rig>, perSend: number): Promise<Sample> {
  const rig = await make();
  let sent = 0;
  const run = async (seconds: number): Promise<[number, number, number]> => {
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    const startCount = rig.received();
    while (performance.now() - start < seconds * 1000) {
      if (sent - rig.received() < WINDOW) {
        rig.send(BATCH);
        sent += BATCH * perSend;
      }
      await tick();
    }
    const cpu = process.cpuUsage(cpu0);
    return [rig.received() - startCount, (performance.now() - start) / 1000, cpu.user + cpu.system];
  };
  await run(WARMUP_S);
  const [count, secs, cpuUs] = await run(MEASURE_S);
  await rig.close();
  return { rate: count / secs, cpuUsPerMsg: cpuUs / Math.max(1, count) };
}

/** Best of the rounds: the highest rate and the lowest CPU per message (the machine is shared). */
function best(a: Sample | null, b: Sample): Sample {
  return a === null ? b : { rate: Math.max(a.rate, b.rate), cpuUsPerMsg: Math.min(a.cpuUsPerMsg, b.cpuUsPerMsg) };
}

async function mmRig(direction: Direction, key?: string): Promise<Rig> {
  const server = await Server.listen('127.0.0.1', 0, key);
  const clients = Array.from({ length: CLIENTS }, () => new Client('127.0.0.1', server.getPort(), key));
  for (const c of clients) if (!(await c.waitForConnect(5))[0]) throw new Error('mm client failed to connect');
  pollEvents();
  let received = 0;
  return {
    send(batch) {
      if (direction === 'broadcast') for (let i = 0; i < batch; i++) server.broadcast(TABLE);
      else for (let i = 0; i < batch; i++) clients[i % CLIENTS]!.send(TABLE);
    },
    received() {
      for (const ev of pollEvents()) if (ev.type === EventType.RECEIVE) received++;
      return received;
    },
    async close() {
      for (const c of clients) c.disconnect();
      await server.close();
      pollEvents();
    },
  };
}

function listen(http: HttpServer): Promise<number> {
  return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve((http.address() as { port: number }).port)));
}

async function socketIoRig(direction: Direction): Promise<Rig> {
  const http = createHttpServer();
  const io = new SocketIoServer(http, { transports: ['websocket'], serveClient: false });
  let received = 0;
  io.on('connection', (socket) => socket.on('m', () => received++));
  const port = await listen(http);
  const clients: SocketIoClient[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const c = socketIoClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true });
    c.on('m', () => received++);
    await new Promise<void>((resolve) => c.once('connect', () => resolve()));
    clients.push(c);
  }
  return {
    send(batch) {
      if (direction === 'broadcast') for (let i = 0; i < batch; i++) io.emit('m', TABLE);
      else for (let i = 0; i < batch; i++) clients[i % CLIENTS]!.emit('m', TABLE);
    },
    received: () => received,
    async close() {
      for (const c of clients) c.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}

async function wsRig(direction: Direction): Promise<Rig> {
  const http = createHttpServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  let received = 0;
  const peers: WebSocket[] = [];
  wss.on('connection', (ws) => {
    peers.push(ws);
    ws.on('message', (data) => {
      JSON.parse(data.toString());
      received++;
    });
  });
  const port = await listen(http);
  const clients: WebSocket[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const c = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    c.on('message', (data) => {
      JSON.parse(data.toString());
      received++;
    });
    await new Promise((resolve) => c.once('open', resolve));
    clients.push(c);
  }
  return {
    send(batch) {
      if (direction === 'broadcast') {
        for (let i = 0; i < batch; i++) {
          const text = JSON.stringify(TABLE);
          for (const p of peers) p.send(text);
        }
      } else for (let i = 0; i < batch; i++) clients[i % CLIENTS]!.send(JSON.stringify(TABLE));
    },
    received: () => received,
    async close() {
      for (const c of clients) c.terminate();
      for (const p of peers) p.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

export async function run(): Promise<void> {
  const rows: BenchRow[] = [];
  for (const direction of ['c2s', 'broadcast'] as const) {
    const perSend = direction === 'broadcast' ? CLIENTS : 1;
    let plain: Sample | null = null;
    let encrypted: Sample | null = null;
    let sio: Sample | null = null;
    let ws: Sample | null = null;
    for (let r = 0; r < ROUNDS; r++) {
      plain = best(plain, await measure(() => mmRig(direction), perSend));
      encrypted = best(encrypted, await measure(() => mmRig(direction, KEY), perSend));
      sio = best(sio, await measure(() => socketIoRig(direction), perSend));
      ws = best(ws, await measure(() => wsRig(direction), perSend));
    }
    const id = `mm-${direction}-small`;
    // ratio is throughput; the CPU figures (µs per delivered message, both ends in this process)
    // are steadier on a shared machine and show the same comparison.
    const row = (c: string, subject: string, s: Sample, baseline: string, b: Sample): BenchRow => ({
      case: c,
      subject,
      baseline,
      ratio: s.rate / b.rate,
      subjectOpsPerSec: Math.round(s.rate),
      baselineOpsPerSec: Math.round(b.rate),
      subjectCpuUsPerMsg: Math.round(s.cpuUsPerMsg * 1000) / 1000,
      baselineCpuUsPerMsg: Math.round(b.cpuUsPerMsg * 1000) / 1000,
      cpuRatio: Math.round((b.cpuUsPerMsg / s.cpuUsPerMsg) * 1000) / 1000,
    });
    rows.push(row(`${id}-plain`, 'gamewire mm', plain!, 'socket.io', sio!));
    rows.push(row(`${id}-encrypted`, 'gamewire mm aes', encrypted!, 'socket.io', sio!));
    rows.push(row(`${id}-plain-vs-ws`, 'gamewire mm', plain!, 'ws (raw JSON)', ws!));
    rows.push(row(`${id}-encryption-cost`, 'gamewire mm aes', encrypted!, 'gamewire mm', plain!));
  }
  report('mm', rows, {
    implementations: { aead: implementationOf('aead'), frameDecoder: implementationOf('frameDecoder'), eventRing: implementationOf('eventRing') },
    clients: CLIENTS,
    table: TABLE,
    seconds: MEASURE_S,
    rounds: ROUNDS,
    window: WINDOW,
    targets: 'plain and encrypted >= 2x socket.io; encryption-cost ratio >= 0.75',
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
  // socket.io keeps engine timers alive for a while after close; the suite is done.
  process.exit(0);
}
