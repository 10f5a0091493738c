/**
 * `npm run bench -- relay`: one owner and 32 users on one joint, through the relay and through a
 * minimal Node TCP forwarder (written here: one process piping bytes between sockets, no parsing),
 * both run as child processes and driven by the same closed-loop load from this process.
 *
 * Cases (ids never renamed): relay-users-to-owner-64B / -1KiB (every user sends frames to the
 * owner), relay-broadcast-64B / -1KiB (the owner broadcasts to all 32 users). Figures: delivered
 * frames/s (ops/s), MB/s of payload, p99 latency (send to delivery, in ms). Ratio = relay frames/s
 * ÷ forwarder frames/s. The forwarder pairs each user with its own owner-side socket (users to
 * owner) or copies the owner's bytes to every user (broadcast): the least a relay can do.
 *
 * Options: `--seconds <n>` measured seconds per case and subject (default 2); `--only <text>`
 * runs the cases whose id contains it; `--profile-relay <dir>` writes CPU profiles of the relay.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { implementationOf, JOINT_UNIT_STRIDE, JointDirection, JointParserJs, JointUnitKind, UnitFlag } from '../src/core/index.js';
import { report, round3, type BenchRow } from './lib.js';

const USERS = 32;
const WARMUP_MS = 500;
/**
 * Payload bytes in flight (sent and not yet delivered, counted at the receivers: a broadcast
 * frame counts once per user) that the closed loop allows.
 */
const WINDOW_BYTES = 1024 * 1024;
/** Frames per socket write of the load generator. */
const FRAMES_PER_WRITE = 16;
const TS_BYTES = 8;

type Subject = 'relay' | 'forwarder';
type Mode = 'users-to-owner' | 'broadcast';

// ---- child processes ----------------------------------------------------------------------------

/** Child: the relay under test. */
async function serveRelay(): Promise<void> {
  const { Relay, silentLogger } = await import('../src/relay/index.js');
  const relay = await Relay.listen({ port: 0, logger: silentLogger, maxConnectionsPerIp: 0, keepaliveMs: 0 });
  process.stdout.write(JSON.stringify({ port: relay.port }) + '\n');
}

/**
 * Child: the baseline forwarder. `pair`: connections 2k and 2k+1 are piped to each other.
 * `fanout`: the first connection's bytes are copied to every later one.
 */
function serveForwarder(kind: 'pair' | 'fanout'): void {
  const sockets: Socket[] = [];
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {});
    const index = sockets.push(socket) - 1;
    if (kind === 'pair') {
      if (index % 2 === 1) {
        const other = sockets[index - 1]!;
        socket.pipe(other);
        other.pipe(socket);
      }
    } else if (index === 0) {
      socket.on('data', (chunk: Buffer) => {
        for (let i = 1; i < sockets.length; i++) sockets[i]!.write(chunk);
      });
    }
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }) + '\n');
  });
}

/** `--profile-relay <dir>`: write a CPU profile of each relay child there. */
let profileDir: string | undefined;

function spawnServer(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const profile = profileDir !== undefined && args[1] === 'relay' ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const child = spawn(process.execPath, [...profile, '--import', 'tsx', fileURLToPath(import.meta.url), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, port: (JSON.parse(out.slice(0, nl)) as { port: number }).port });
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

// ---- load generator -----------------------------------------------------------------------------

function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function readExactly(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const on = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= n) {
        s.removeListener('data', on);
        s.pause();
        resolve(got);
      }
    };
    s.on('data', on);
    s.resume();
  });
}

/** Counts delivered payload per route and samples latency from the timestamp at each frame's start. */
class Receiver {
  private readonly parser = new JointParserJs({ direction: JointDirection.ToClient });
  /** Payload bytes seen per route (a * 256 + b + 1), to find where each sent frame begins. */
  private readonly offsets = new Map<number, number>();
  private readonly view = new DataView(new ArrayBuffer(TS_BYTES));
  private readonly tsBytes = new Uint8Array(this.view.buffer);

  constructor(
    private readonly payload: number,
    private readonly sink: { delivered: number; samples: number[]; sampling: boolean },
  ) {}

  feed(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const n = this.parser.feed(chunk, offset, chunk.length - offset);
      const u = this.parser.units;
      for (let i = 0; i < n * JOINT_UNIT_STRIDE; i += JOINT_UNIT_STRIDE) {
        if (u[i] !== JointUnitKind.Data || (u[i + 1]! & UnitFlag.InCarry) !== 0) continue;
        const key = u[i + 2]! * 256 + u[i + 3]! + 1;
        let seen = this.offsets.get(key) ?? 0;
        const start = u[i + 4]!;
        const length = u[i + 5]!;
        this.sink.delivered += length;
        if (this.sink.sampling) {
          // Frame starts inside this piece: where the route's byte count is a multiple of payload.
          let at = (this.payload - (seen % this.payload)) % this.payload;
          const now = performance.now();
          for (; at + TS_BYTES <= length; at += this.payload) {
            for (let k = 0; k < TS_BYTES; k++) this.tsBytes[k] = chunk[start + at + k]!;
            this.sink.samples.push(now - this.view.getFloat64(0, true));
          }
        }
        seen += length;
        this.offsets.set(key, seen % this.payload);
      }
      if (this.parser.error !== 0 || this.parser.consumed === 0) throw new Error(`receiver parse error ${this.parser.error}`);
      offset += this.parser.consumed;
    }
  }
}

/** A batch of frames `header + payload` whose timestamps are rewritten at each send. */
class Batch {
  readonly bytes: Buffer;
  private readonly stamps: number[] = [];

  constructor(prefix: number[], payload: number) {
    const frames: Buffer[] = [];
    let at = 0;
    for (let f = 0; f < FRAMES_PER_WRITE; f++) {
      const data = Buffer.alloc(payload, 0x5a);
      const frame = Buffer.concat([Buffer.from(prefix), data]);
      this.stamps.push(at + prefix.length);
      at += frame.length;
      frames.push(frame);
    }
    this.bytes = Buffer.concat(frames);
  }

  /** A fresh copy stamped with `now` (the socket may still hold the previous one). */
  stamped(now: number): Buffer {
    const out = Buffer.allocUnsafe(this.bytes.length);
    this.bytes.copy(out);
    for (const s of this.stamps) out.writeDoubleLE(now, s);
    return out;
  }
}

function sizeHeader(size: number): number[] {
  return size < 128 ? [size] : [(size >> 8) + 0x80, size & 0xff];
}

interface CaseResult {
  framesPerSec: number;
  mbPerSec: number;
  p99Ms: number;
  p50Ms: number;
}

async function runCase(subject: Subject, mode: Mode, payload: number, seconds: number): Promise<CaseResult> {
  const server = await spawnServer(['--serve', subject === 'relay' ? 'relay' : mode === 'broadcast' ? 'fanout' : 'pair']);
  const sockets: Socket[] = [];
  const sink = { delivered: 0, samples: [] as number[], sampling: false };
  let sentPayload = 0;
  const fanout = mode === 'broadcast' ? USERS : 1;
  try {
    // Connect: senders write batches, receivers parse and count.
    const senders: { socket: Socket; batch: Batch }[] = [];
    const receivers: Socket[] = [];
    if (subject === 'relay') {
      const owner = await tcp(server.port);
      sockets.push(owner);
      owner.write(Buffer.from('0000010162', 'hex'));
      await readExactly(owner, 5);
      for (let i = 0; i < USERS; i++) {
        const user = await tcp(server.port);
        sockets.push(user);
        user.write(Buffer.from('0001010162', 'hex'));
        await readExactly(user, 5);
        receivers.push(user);
        if (mode === 'users-to-owner') senders.push({ socket: user, batch: new Batch([...sizeHeader(payload + 1), 0], payload) });
      }
      await readExactly(owner, 6 * USERS);
      if (mode === 'users-to-owner') receivers.splice(0, receivers.length, owner);
      else senders.push({ socket: owner, batch: new Batch([1, 1, ...sizeHeader(payload + 1), 0x80], payload) });
    } else if (mode === 'users-to-owner') {
      for (let i = 0; i < USERS; i++) {
        const ownerSide = await tcp(server.port);
        const user = await tcp(server.port);
        sockets.push(ownerSide, user);
        receivers.push(ownerSide);
        senders.push({ socket: user, batch: new Batch([...sizeHeader(payload + 1), 0], payload) });
      }
    } else {
      const owner = await tcp(server.port);
      sockets.push(owner);
      for (let i = 0; i < USERS; i++) {
        const user = await tcp(server.port);
        sockets.push(user);
        receivers.push(user);
      }
      await new Promise((r) => setTimeout(r, 50));
      senders.push({ socket: owner, batch: new Batch([...sizeHeader(payload + 1), 0], payload) });
    }

    let next = 0;
    const batchPayload = payload * FRAMES_PER_WRITE;
    const pump = () => {
      const now = performance.now();
      while (sentPayload * fanout - sink.delivered < WINDOW_BYTES) {
        const s = senders[next]!;
        next = (next + 1) % senders.length;
        s.socket.write(s.batch.stamped(now));
        sentPayload += batchPayload;
      }
    };
    for (const r of receivers) {
      const receiver = new Receiver(payload, sink);
      r.on('data', (chunk: Buffer) => {
        receiver.feed(chunk);
        pump();
      });
      r.resume();
    }
    pump();
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    sink.sampling = true;
    sink.samples.length = 0;
    const d0 = sink.delivered;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const delivered = sink.delivered - d0;
    const elapsed = (performance.now() - t0) / 1000;
    sink.sampling = false;
    const samples = Float64Array.from(sink.samples).sort();
    const pick = (q: number) => (samples.length === 0 ? NaN : samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!);
    return {
      framesPerSec: delivered / payload / elapsed,
      mbPerSec: delivered / elapsed / 1e6,
      p99Ms: pick(0.99),
      p50Ms: pick(0.5),
    };
  } finally {
    for (const s of sockets) s.destroy();
    server.child.kill();
  }
}

/** Run every case against both subjects and write bench/results/relay.json. */
export async function run(args: string[] = []): Promise<BenchRow[]> {
  const at = args.indexOf('--seconds');
  const seconds = at >= 0 ? Number(args[at + 1]) : 2;
  const cases: [string, Mode, number][] = [
    ['relay-users-to-owner-64B', 'users-to-owner', 64],
    ['relay-users-to-owner-1KiB', 'users-to-owner', 1024],
    ['relay-broadcast-64B', 'broadcast', 64],
    ['relay-broadcast-1KiB', 'broadcast', 1024],
  ];
  const prof = args.indexOf('--profile-relay');
  if (prof >= 0) profileDir = args[prof + 1];
  const only = args.indexOf('--only');
  const filter = only >= 0 ? (args[only + 1] ?? '') : '';
  const rows: BenchRow[] = [];
  for (const [id, mode, payload] of cases) {
    if (!id.includes(filter)) continue;
    const forwarder = await runCase('forwarder', mode, payload, seconds);
    const relay = await runCase('relay', mode, payload, seconds);
    rows.push({
      case: id,
      subject: 'gamewire relay',
      baseline: 'node tcp forwarder',
      ratio: relay.framesPerSec / forwarder.framesPerSec,
      subjectOpsPerSec: round3(relay.framesPerSec),
      baselineOpsPerSec: round3(forwarder.framesPerSec),
      subjectMBPerSec: round3(relay.mbPerSec),
      baselineMBPerSec: round3(forwarder.mbPerSec),
      subjectP99Ms: round3(relay.p99Ms),
      baselineP99Ms: round3(forwarder.p99Ms),
      subjectP50Ms: round3(relay.p50Ms),
      baselineP50Ms: round3(forwarder.p50Ms),
      users: USERS,
      payloadBytes: payload,
      windowBytes: WINDOW_BYTES,
    });
  }
  report('relay', rows, {
    jointParser: implementationOf('jointParser'),
    users: USERS,
    secondsPerCase: seconds,
    note: 'ops/s = delivered frames/s (broadcast: frames received by all users together); p99 = send to delivery under closed-loop load',
  });
  for (const r of rows) {
    process.stdout.write(
      `# ${r.case}: relay ${r.subjectMBPerSec} MB/s p99 ${r.subjectP99Ms} ms | forwarder ${r.baselineMBPerSec} MB/s p99 ${r.baselineP99Ms} ms\n`,
    );
  }
  return rows;
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  // A server child lives as long as its parent: its stdin closes when the parent goes.
  process.stdin.on('close', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.stdin.resume();
  const kind = process.argv[serveAt + 1];
  if (kind === 'relay') void serveRelay();
  else serveForwarder(kind === 'fanout' ? 'fanout' : 'pair');
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
