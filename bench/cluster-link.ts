/**
 * Micro-benchmark of the relay cluster's building blocks (issue 18; not wired into
 * `npm run bench` yet). Run: `node --import tsx bench/cluster-link.ts [--seconds 2] [--rounds 1]`.
 *
 * A nats-server (Debian's, started as the tests do) on 127.0.0.1; node `b` in a child process
 * receives (data link on, `dataLink: 'tcp'`); this process sends from two nodes, `a` with
 * `dataLink: 'nats'` (its batches go through nats-server) and `at` with `dataLink: 'tcp'` (its
 * batches go over a direct TCP connection to `b`, docs/cluster.md §4a), each with its own NATS
 * connection, as relay processes would. The throughput and latency cases run for both, in
 * alternating order over `--rounds` rounds; each round prints its rows and the end prints the
 * medians. Cases (ids never renamed; `-tcp` is the data link):
 * - node-link-throughput-64B / -1KiB (and node-link-tcp-throughput-…): TO_OWNER records of that
 *   payload as fast as the link takes them (the sender yields a tick every 4096 records and waits
 *   for `drain` when congested). Frames/s counted at the receiver; frames per batch; CPU µs per
 *   frame of the sending and the receiving process and of nats-server.
 * - node-link-inproc-64B / -1KiB: the same records through the link's encoder and decoder with
 *   no NATS in between (the publish calls the receiver at once): what the envelope costs.
 * - node-link-latency-64B-1k / -100k: open loop at about 1,000 and 100,000 frames/s (1 and 100
 *   records per 1 ms timer tick), each stamped with this process's clock; `b` echoes each back as
 *   TO_USER, so the figure is the round trip a→b→a (two hops; one hop adds about half).
 * - directory-claim-seq / -par: JetStream KV `create` of fresh ids, one at a time (p50/p99) and
 *   100 in flight (claims/s).
 */
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/transport-node';
import { Cluster, NodeLink, type LinkHandler, type NodeRefLike } from '../src/cluster/index.js';

const CLUSTER = 'bench';
const PER_TICK = 4096;

/** Wall clock in ms with µs resolution, comparable across threads. */
const now = (): number => performance.timeOrigin + performance.now();

/** A receiver that counts TO_OWNER records and keeps the one-way latency of stamped ones. */
class CountingHandler implements LinkHandler {
  frames = 0;
  bytes = 0;
  firstMs = 0;
  lastMs = 0;
  stamped = false;
  /** When set (the receiver), stamped frames are sent back to their sender as TO_USER. */
  echo: Cluster | null = null;
  /** Round-trip times (ms) of the stamped frames that came back (the sender). */
  rtts: number[] = [];
  private readonly view = new DataView(new ArrayBuffer(8));
  enter(): void {}
  enterOk(): void {}
  enterErr(): void {}
  leave(): void {}
  userGone(): void {}
  toOwner(_from: NodeRefLike, _jointRef: number, _userNr: number, data: Uint8Array, offset: number, length: number): void {
    const t = now();
    if (this.frames === 0) this.firstMs = t;
    this.lastMs = t;
    this.frames++;
    this.bytes += length;
    if (this.stamped && this.echo !== null) this.echo.link.channel(_from).toUser(0, data, offset, 8);
  }
  toUser(_from: NodeRefLike, _userRef: number, data: Uint8Array, offset: number): void {
    for (let i = 0; i < 8; i++) this.view.setUint8(i, data[offset + i]!);
    this.rtts.push(performance.now() - this.view.getFloat64(0, true));
  }
  broadcast(): void {}
  kick(): void {}
  jointGone(): void {}
  pauseJoint(): void {}
  resumeJoint(): void {}
  reset(stamped: boolean): void {
    this.frames = this.bytes = this.firstMs = this.lastMs = 0;
    this.rtts = [];
    this.stamped = stamped;
  }
}

type ToWorker = { op: 'reset'; stamped: boolean } | { op: 'report' } | { op: 'close' };
type FromWorker = { op: 'ready'; epoch: number } | { op: 'reset' } | { op: 'report'; frames: number; bytes: number; firstMs: number; lastMs: number } | { op: 'closed' };

const receiverAt = process.argv.indexOf('--receiver');
if (receiverAt >= 0) {
  const url = process.argv[receiverAt + 1]!;
  const handler = new CountingHandler();
  const node = await Cluster.join({ servers: url, nodeId: 'b', name: CLUSTER }, handler);
  handler.echo = node;
  const send = (msg: FromWorker): void => void process.send!(msg);
  process.on('message', (msg: ToWorker) => {
    if (msg.op === 'reset') {
      handler.reset(msg.stamped);
      send({ op: 'reset' });
    } else if (msg.op === 'report') {
      send({ op: 'report', frames: handler.frames, bytes: handler.bytes, firstMs: handler.firstMs, lastMs: handler.lastMs });
    } else if (msg.op === 'close') {
      void node.close().then(() => {
        send({ op: 'closed' });
        process.exit(0);
      });
    }
  });
  send({ op: 'ready', epoch: node.self.epoch });
} else {
  await main();
}

/** `--batch <bytes>` and `--window <bytes>` override the sender's link options (to tune them). */
function linkOptions(): { linkMaxBatchBytes?: number; linkWindowBytes?: number } {
  const get = (flag: string): number | undefined => {
    const at = process.argv.indexOf(flag);
    return at >= 0 ? Number(process.argv[at + 1]) : undefined;
  };
  const out: { linkMaxBatchBytes?: number; linkWindowBytes?: number } = {};
  if (get('--batch') !== undefined) out.linkMaxBatchBytes = get('--batch');
  if (get('--window') !== undefined) out.linkWindowBytes = get('--window');
  return out;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** utime + stime of a process in ms, from /proc (nats-server's CPU). */
function procCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 2;
  const { startNatsServer, natsServerPath } = await import('../test/helpers/nats-server.js');
  if (natsServerPath() === null) throw new Error('no nats-server: bash scripts/install-nats.sh');
  const nats = await startNatsServer();
  const worker = fork(fileURLToPath(import.meta.url), ['--receiver', nats.url], { execArgv: ['--import', 'tsx', ...(process.env.GAMEWIRE_BENCH_CHILD_ARGS?.split(' ') ?? [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting: ((msg: FromWorker) => void)[] = [];
  worker.on('message', (msg: FromWorker) => waiting.shift()?.(msg));
  const ask = (msg: ToWorker | null): Promise<FromWorker> => {
    const reply = new Promise<FromWorker>((resolve) => waiting.push(resolve));
    if (msg) worker.send(msg);
    return reply;
  };
  try {
    await cases(nats, worker, ask, seconds);
  } finally {
    worker.kill('SIGKILL');
    await nats.dispose();
  }
}

async function cases(
  nats: { url: string; pid: number | undefined },
  worker: ReturnType<typeof fork>,
  ask: (msg: ToWorker | null) => Promise<FromWorker>,
  seconds: number,
): Promise<void> {
  const { natsServerPath } = await import('../test/helpers/nats-server.js');
  const ready = (await ask(null)) as { op: 'ready'; epoch: number };
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 1;
  const aHandler = new CountingHandler();
  const senders = {
    nats: await Cluster.join({ servers: nats.url, nodeId: 'a', name: CLUSTER, dataLink: 'nats', ...linkOptions() }, aHandler),
    tcp: await Cluster.join({ servers: nats.url, nodeId: 'at', name: CLUSTER, dataLink: 'tcp', ...linkOptions() }, aHandler),
  };
  const peer = { nodeId: 'b', epoch: ready.epoch };
  const natsVersion = execFileSync(natsServerPath()!, ['--version']).toString().trim();
  const figures = new Map<string, number[]>();
  const keep = (id: string, value: number): void => {
    figures.set(id, [...(figures.get(id) ?? []), value]);
  };
  const row = (id: string, text: string): void => console.log(`${id.padEnd(34)} ${text}`);
  console.log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${natsVersion}, ${seconds} s per case, ${rounds} round(s), load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`${'case'.padEnd(34)} figures`);

  const throughput = async (transport: 'nats' | 'tcp', size: number): Promise<void> => {
    const a = senders[transport];
    const id = `node-link${transport === 'tcp' ? '-tcp' : ''}-throughput-${size === 64 ? '64B' : '1KiB'}`;
    await ask({ op: 'reset', stamped: false });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ch = a.link.channel(peer);
    const payload = Buffer.alloc(size, 7);
    // Warm up, so the TCP case measures the data connection and not its dial.
    for (let i = 0; i < 64; i++) ch.toOwner(1, 0, payload, 0, size);
    const warm = Date.now();
    while ((transport === 'tcp' && ch.conn === null) || ch.inflight > 0) {
      if (Date.now() - warm > 5000) throw new Error(`${id}: no data connection`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (transport === 'tcp' && ch.conn === null) ch.toOwner(1, 0, payload, 0, size);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    await ask({ op: 'reset', stamped: false });
    const batches0 = a.link.stats.batchesSent;
    const cpu0 = process.cpuUsage();
    const natsCpu0 = procCpuMs(nats.pid!);
    const rxCpu0 = procCpuMs(worker.pid!);
    const t0 = now();
    let sent = 0;
    while (now() - t0 < seconds * 1000) {
      let ok = true;
      for (let i = 0; i < PER_TICK; i++) {
        ok = ch.toOwner(1, 0, payload, 0, size);
        sent++;
        if (!ok) break;
      }
      if (!ok) await new Promise((resolve) => a.once('drain', resolve));
      else await new Promise((resolve) => setImmediate(resolve));
    }
    let report: Extract<FromWorker, { op: 'report' }>;
    const deadline = now() + 10_000;
    do {
      await new Promise((resolve) => setTimeout(resolve, 20));
      report = (await ask({ op: 'report' })) as typeof report;
    } while (report.frames < sent && now() < deadline);
    const cpu = process.cpuUsage(cpu0);
    const natsCpu = procCpuMs(nats.pid!) - natsCpu0;
    const rxCpu = procCpuMs(worker.pid!) - rxCpu0;
    const batches = a.link.stats.batchesSent - batches0;
    const elapsed = (report.lastMs - t0) / 1000;
    const fps = report.frames / elapsed;
    keep(`${id} M frames/s`, fps / 1e6);
    keep(`${id} MB/s`, (fps * size) / 1e6);
    keep(`${id} CPU µs/frame sender`, (cpu.user + cpu.system) / report.frames);
    keep(`${id} CPU µs/frame receiver`, (rxCpu * 1000) / report.frames);
    keep(`${id} CPU µs/frame nats-server`, (natsCpu * 1000) / report.frames);
    row(
      id,
      `${(fps / 1e6).toFixed(3)} M frames/s, ${((fps * size) / 1e6).toFixed(1)} MB/s payload, ${(report.frames / batches).toFixed(0)} frames per batch, ` +
        `CPU/frame: sender ${((cpu.user + cpu.system) / report.frames).toFixed(3)} µs, receiver ${((rxCpu * 1000) / report.frames).toFixed(3)} µs, nats-server ${((natsCpu * 1000) / report.frames).toFixed(3)} µs` +
        (report.frames !== sent ? ` (LOST ${sent - report.frames})` : ''),
    );
  };

  const latency = async (transport: 'nats' | 'tcp', label: string, perMs: number): Promise<void> => {
    const a = senders[transport];
    const id = `node-link${transport === 'tcp' ? '-tcp' : ''}-latency-64B-${label}`;
    await ask({ op: 'reset', stamped: true });
    aHandler.reset(true);
    const ch = a.link.channel(peer);
    const stamp = Buffer.alloc(64);
    const t0 = performance.now();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        for (let i = 0; i < perMs; i++) {
          stamp.writeDoubleLE(performance.now(), 0);
          ch.toOwner(2, 0, stamp, 0, 64);
          sent++;
        }
        if (performance.now() - t0 > seconds * 1000) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    const elapsed = (performance.now() - t0) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sorted = aHandler.rtts.sort((x, y) => x - y);
    keep(`${id} p50 ms`, percentile(sorted, 50));
    keep(`${id} p99 ms`, percentile(sorted, 99));
    row(
      id,
      `${Math.round(sent / elapsed)} frames/s offered; round trip a→b→a p50 ${percentile(sorted, 50).toFixed(3)} ms, p99 ${percentile(sorted, 99).toFixed(3)} ms, max ${sorted.at(-1)!.toFixed(3)} ms (${sorted.length}/${sent} back)`,
    );
  };

  for (let round = 0; round < rounds; round++) {
    // Alternate which transport goes first, so a load change on the shared machine does not favour one.
    const order: ('nats' | 'tcp')[] = round % 2 === 0 ? ['nats', 'tcp'] : ['tcp', 'nats'];
    console.log(`-- round ${round + 1}, load ${loadavg()[0]!.toFixed(1)}`);
    for (const size of [64, 1024]) for (const transport of order) await throughput(transport, size);
    for (const transport of order) {
      await latency(transport, '1k', 1);
      await latency(transport, '100k', 100);
    }
  }
  if (rounds > 1) {
    console.log(`-- medians of ${rounds} rounds`);
    for (const [id, values] of figures) {
      const sorted = [...values].sort((x, y) => x - y);
      row(id, `${percentile(sorted, 50).toFixed(3)} (min ${sorted[0]!.toFixed(3)}, max ${sorted.at(-1)!.toFixed(3)})`);
    }
  }

  // ---- encoder + decoder only ----
  for (const size of [64, 1024]) {
    const label = size === 64 ? '64B' : '1KiB';
    const payload = Buffer.alloc(size, 7);
    const sink = new CountingHandler();
    // Two links joined back to back: each publish is the other's receive (acks flow back too).
    const callbacks = new Map<string, (data: Uint8Array) => void>();
    const fake = (self: string): NatsConnection =>
      ({
        publish: (subject: string, data: Uint8Array) => callbacks.get(subject)?.(data),
        subscribe(subject: string, o: { callback: (e: null, m: { data: Uint8Array }) => void }) {
          callbacks.set(subject, (data) => o.callback(null, { data }));
          return { unsubscribe() {} };
        },
        isClosed: () => false,
        self,
      }) as unknown as NatsConnection;
    const rxSelf = { nodeId: 'y', epoch: 2 };
    const rx = new NodeLink(fake('y'), rxSelf, sink, senders.nats.link.options);
    const tx = new NodeLink(fake('x'), { nodeId: 'x', epoch: 1 }, new CountingHandler(), senders.nats.link.options);
    rx.start();
    tx.start();
    const txCh = tx.channel(rxSelf);
    const t1 = now();
    let n = 0;
    while (now() - t1 < seconds * 1000) {
      for (let i = 0; i < PER_TICK; i++) {
        n++;
        if (!txCh.toOwner(1, 0, payload, 0, size)) break;
      }
      // What the tick's end does on both sides, until the sender is below its high-water mark.
      do {
        tx.flush();
        rx.flush();
      } while (txCh.congested);
      if (txCh.failed) throw new Error('in-process link failed');
    }
    while (txCh.bufferedBytes > 0) {
      tx.flush();
      rx.flush();
    }
    const inproc = sink.frames / ((now() - t1) / 1000);
    row(`node-link-inproc-${label}`, `${(inproc / 1e6).toFixed(3)} M frames/s (encode + decode, no NATS)${sink.frames !== n ? ` (LOST ${n - sink.frames})` : ''}`);
    rx.close();
    tx.close();
  }

  // ---- directory ----
  const a = senders.nats;
  const lat: number[] = [];
  const CLAIMS = 2000;
  for (let i = 0; i < CLAIMS; i++) {
    const t = now();
    const r = await a.directory.claim(Buffer.from(`seq-${i}`));
    lat.push(now() - t);
    if (r !== 'claimed') throw new Error(`claim ${i}: ${r}`);
  }
  lat.sort((x, y) => x - y);
  row('directory-claim-seq', `${(CLAIMS / (lat.reduce((s, x) => s + x, 0) / 1000)).toFixed(0)} claims/s, p50 ${percentile(lat, 50).toFixed(3)} ms, p99 ${percentile(lat, 99).toFixed(3)} ms`);
  const tp = now();
  for (let i = 0; i < CLAIMS; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, k) => a.directory.claim(Buffer.from(`par-${i + k}`))));
  }
  row('directory-claim-par', `${(CLAIMS / ((now() - tp) / 1000)).toFixed(0)} claims/s with 100 in flight`);

  await ask({ op: 'close' });
  await senders.tcp.close();
  await senders.nats.close();
}
