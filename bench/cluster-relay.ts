/**
 * Cross-node against same-node through the relay (issue 18, docs/cluster.md §11 "Through the
 * relay"), with both transports of the node link in the same run. Run:
 * `node --import tsx bench/cluster-relay.ts [--rounds 3] [--duration 4] [--sizes 64,1024]`.
 *
 * One nats-server (Debian's, started as the tests do) and four relay processes on 127.0.0.1: a
 * pair `na`/`nb` with `dataLink: 'nats'` (cluster `bnats`) and a pair `ta`/`tb` with
 * `dataLink: 'tcp'` (cluster `btcp`). `gamewire bench relay` connects every connection to one
 * port, so this process runs three small TCP splitters: "cross-nats" and "cross-tcp" send a
 * connection whose first command is a create (`00 00`) to the pair's first relay and every other
 * to its second (owner on one node, its users on the other); "same" sends all to `ta`. Each
 * round runs `gamewire bench relay` (a child process, the load generator: 1 joint × 10 users,
 * users → owner, closed loop, window 16, `--duration` s + 1 s warm-up) once per target, the
 * order rotating each round, and prints frames/s, p50/p99, lost, the CPU µs per frame of each
 * relay, nats-server, the splitter and the generator, and the cross ÷ same ratios of that round;
 * the end prints the medians over the rounds.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const relayAt = process.argv.indexOf('--relay');
if (relayAt >= 0) {
  const [url, nodeId, name, dataLink] = process.argv.slice(relayAt + 1);
  const { Relay, silentLogger } = await import('../src/relay/index.js');
  const relay = await Relay.listen({
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger,
    cluster: { servers: url!, nodeId: nodeId!, name: name!, dataLink: dataLink as 'tcp' | 'nats', dataHost: '127.0.0.1' },
  });
  console.log(`ready ${relay.port}`);
  process.on('SIGTERM', () => void relay.close().then(() => process.exit(0)));
} else {
  await main();
}

interface Run {
  target: string;
  fps: number;
  p50: number;
  p99: number;
  lost: number;
  cpu: Record<string, number>;
}

function arg(flag: string, fallback: string): string {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? process.argv[at + 1]! : fallback;
}

/** utime + stime of a process in ms, from /proc. */
function procCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** A relay child process on a free port. */
async function startRelay(url: string, nodeId: string, name: string, dataLink: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--relay', url, nodeId, name, dataLink], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`relay ${nodeId} did not start`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', () => reject(new Error(`relay ${nodeId} exited`)));
  });
  return { child, port };
}

/** A TCP splitter: a connection whose first two bytes are a create goes to `owner`, others to `users`. */
async function splitter(owner: number, users: number): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    client.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (head.length < 2) return;
      client.off('data', onData);
      client.pause();
      const upstream = net.connect({ host: '127.0.0.1', port: head[0] === 0 && head[1] === 0 ? owner : users });
      upstream.setNoDelay(true);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.once('connect', () => {
        upstream.write(head);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** One `gamewire bench relay` child against `port`; the JSON result's figures. */
async function benchOnce(port: number, size: number, duration: number, dir: string): Promise<{ fps: number; p50: number; p99: number; lost: number; generatorCpuMs: number; frames: number }> {
  const json = join(dir, `run-${port}-${Date.now()}.json`);
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const args = ['--import', 'tsx', cli, 'bench', 'relay', '--host', '127.0.0.1', '--port', String(port), '--users', '10', '--joints', '1', '--size', String(size), '--window', '16', '--duration', String(duration), '--warmup', '1', '--json', json, '--no-progress'];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench exited ${code}`))));
  });
  const r = JSON.parse(readFileSync(json, 'utf8')) as {
    framesPerSec: { mean: number };
    latency: { p50: number; p99: number };
    counts: { lost: number; delivered: number };
    generator: { cpuMs: number };
    durationSec: number;
  };
  return { fps: r.framesPerSec.mean, p50: r.latency.p50, p99: r.latency.p99, lost: r.counts.lost, generatorCpuMs: r.generator.cpuMs, frames: r.framesPerSec.mean * r.durationSec };
}

async function main(): Promise<void> {
  const rounds = Number(arg('--rounds', '3'));
  const duration = Number(arg('--duration', '4'));
  const sizes = arg('--sizes', '64,1024').split(',').map(Number);
  const { startNatsServer, natsServerPath } = await import('../test/helpers/nats-server.js');
  if (natsServerPath() === null) throw new Error('no nats-server: bash scripts/install-nats.sh');
  const nats = await startNatsServer();
  const dir = mkdtempSync(join(tmpdir(), 'gamewire-cluster-relay-'));
  const relays: Record<string, { child: ChildProcess; port: number }> = {};
  const servers: net.Server[] = [];
  try {
    for (const [id, name, link] of [
      ['na', 'bnats', 'nats'],
      ['nb', 'bnats', 'nats'],
      ['ta', 'btcp', 'tcp'],
      ['tb', 'btcp', 'tcp'],
    ] as const) {
      relays[id] = await startRelay(nats.url, id, name, link);
    }
    // Peers see each other within a heartbeat or two.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const targets: Record<string, { port: number; relays: string[] }> = {};
    for (const [target, owner, users, involved] of [
      ['cross-nats', 'na', 'nb', ['na', 'nb']],
      ['cross-tcp', 'ta', 'tb', ['ta', 'tb']],
      ['same', 'ta', 'ta', ['ta']],
    ] as const) {
      const s = await splitter(relays[owner]!.port, relays[users]!.port);
      servers.push(s.server);
      targets[target] = { port: s.port, relays: [...involved] };
    }
    const natsVersion = execFileSync(natsServerPath()!, ['--version']).toString().trim();
    console.log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${natsVersion}; ${rounds} rounds × ${duration} s (+1 s warm-up) per target; 1 joint × 10 users, users → owner, window 16`);
    const names = Object.keys(targets);
    const all: Record<number, Run[][]> = {};
    for (const size of sizes) {
      all[size] = [];
      for (let round = 0; round < rounds; round++) {
        const order = names.map((_, i) => names[(i + round) % names.length]!);
        const runs: Run[] = [];
        const load = loadavg()[0]!.toFixed(1);
        for (const target of order) {
          const { port, relays: involved } = targets[target]!;
          const pids: Record<string, number> = { nats: nats.pid! };
          for (const id of involved) pids[id] = relays[id]!.child.pid!;
          const before: Record<string, number> = {};
          for (const [k, pid] of Object.entries(pids)) before[k] = procCpuMs(pid);
          const split0 = process.cpuUsage();
          const r = await benchOnce(port, size, duration, dir);
          const split = process.cpuUsage(split0);
          // CPU over the whole child run (warm-up, measured period, drain) ÷ the frames of the
          // measured period, as §11 did: approximate, an upper bound.
          const total = r.fps * (duration + 1);
          const cpu: Record<string, number> = {};
          for (const [k, pid] of Object.entries(pids)) cpu[k] = ((procCpuMs(pid) - before[k]!) * 1000) / total;
          cpu.splitter = (split.user + split.system) / total;
          cpu.generator = (r.generatorCpuMs * 1000) / r.frames;
          runs.push({ target, fps: r.fps, p50: r.p50, p99: r.p99, lost: r.lost, cpu });
        }
        all[size]!.push(runs);
        const by = (t: string): Run => runs.find((x) => x.target === t)!;
        console.log(`-- ${size} B, round ${round + 1} (load ${load}), order ${order.join(', ')}`);
        for (const run of runs) {
          const cpuText = Object.entries(run.cpu)
            .map(([k, v]) => `${k} ${v.toFixed(2)}`)
            .join(', ');
          console.log(`${run.target.padEnd(11)} ${Math.round(run.fps).toString().padStart(7)} frames/s  p50 ${run.p50.toFixed(2)} ms  p99 ${run.p99.toFixed(2)} ms  lost ${run.lost}  CPU µs/frame: ${cpuText}`);
        }
        console.log(`ratio cross ÷ same: nats ${(by('cross-nats').fps / by('same').fps).toFixed(2)}, tcp ${(by('cross-tcp').fps / by('same').fps).toFixed(2)}`);
      }
    }
    console.log('-- medians over the rounds');
    for (const size of sizes) {
      const rs = all[size]!;
      const fps = (t: string): number[] => rs.map((runs) => runs.find((x) => x.target === t)!.fps);
      const ratio = (t: string): number[] => rs.map((runs) => runs.find((x) => x.target === t)!.fps / runs.find((x) => x.target === 'same')!.fps);
      const lat = (t: string, k: 'p50' | 'p99'): number => median(rs.map((runs) => runs.find((x) => x.target === t)![k]));
      for (const t of names) {
        const cpuKeys = Object.keys(rs[0]!.find((x) => x.target === t)!.cpu);
        const cpuText = cpuKeys.map((k) => `${k} ${median(rs.map((runs) => runs.find((x) => x.target === t)!.cpu[k]!)).toFixed(2)}`).join(', ');
        console.log(`${size} B ${t.padEnd(11)} ${Math.round(median(fps(t)))} frames/s  p50 ${lat(t, 'p50').toFixed(2)} ms  p99 ${lat(t, 'p99').toFixed(2)} ms  CPU µs/frame: ${cpuText}`);
      }
      console.log(`${size} B ratio cross ÷ same (median of the rounds' ratios): nats ${median(ratio('cross-nats')).toFixed(2)} [${ratio('cross-nats').map((x) => x.toFixed(2)).join(' ')}], tcp ${median(ratio('cross-tcp')).toFixed(2)} [${ratio('cross-tcp').map((x) => x.toFixed(2)).join(' ')}]`);
    }
  } finally {
    for (const s of servers) s.close();
    await Promise.all(
      Object.values(relays).map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    await nats.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
