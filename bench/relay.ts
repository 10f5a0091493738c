/**
 * `npm run bench -- relay`: one owner and 32 users on one joint, through the relay and through a
 * minimal Node TCP forwarder (written here: one process piping bytes between sockets, no parsing),
 * both run as child processes and driven by the same closed-loop load from this process.
 *
 * Cases (ids never renamed): relay-users-to-owner-64B / -1KiB (every user sends frames to the
 * owner), relay-broadcast-64B / -1KiB (the owner broadcasts to all 32 users). Figures: delivered
 * frames/s (ops/s), MB/s of payload, p99 latency (send to delivery, in ms). Ratio = relay frames/s
 * ÷ forwarder frames/s. The forwarder copies the owner's bytes to every user (broadcast), and for
 * users to owner funnels every user's bytes into one owner socket, as the relay does ("funnel").
 *
 * Why the users-to-owner baseline is a funnel: the first baseline piped each user to its own
 * owner-side socket (32 independent pipes, 32 receiving sockets). That is a different job from the
 * one it stands for: the relay must merge 32 senders into one owner connection, which then carries
 * 32x the bytes of any pipe (one socket's buffers, one reader, larger reads and writes). The
 * funnel does the same merge with the least work that keeps the merged stream usable: each read
 * from a user goes to the owner socket as it arrives, behind a 4-byte owner frame header
 * (`size, jOwn+128, userNr`, joint.md §2.3; split at 32765 bytes) naming the user, so the owner can
 * tell the users apart, and the user's bytes pass through untouched (no parsing, no rewriting:
 * the relay parses and rewrites every frame). Each read is one corked write (header + chunk), as
 * `pipe` writes a chunk. The owner side of the load generator demultiplexes by userNr and parses
 * each user's forwarded frames with its own parser, as any owner of such a funnel must to find
 * the frames, so it does the same per-frame work for both subjects (with the relay's output it
 * parses the frames once; with the funnel's, the one extra header per forwarded read too). The
 * pairs figure is still measured and reported (`pairsBaselineOpsPerSec`, `ratioVsPairs`).
 *
 * relay-idle-memory-10k (issue 13): KiB of RSS per idle connection. 10,000 connections, spread
 * over 8 loopback source addresses, each create a joint and then stay silent; the relay (default
 * options but for the connection caps) and a bare Node TCP server holding the same sockets and doing
 * the same I/O (it reads the create and answers 5 bytes, the size of the relay's reply: a socket
 * that has written holds more native memory than one that never did, about 1 KiB here, and that is
 * the socket's cost, not the relay's) are each measured in a child process of their own (same fixed
 * young-generation size), RSS after rounds of forced GC before and after, divided by the connections. Ratio = relay KiB ÷ bare KiB (a cost: lower is better; the target is at most 2).
 *
 * Options: `--seconds <n>` measured seconds per case and subject (default 2); `--only <text>`
 * runs the cases whose id contains it; `--profile-relay <dir>` writes CPU profiles of the relay,
 * `--profile-servers <dir>` of the relay and the forwarders. Each row also gives the CPU time the
 * server and the load generator spent per delivered frame (robust on a loaded machine).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createJointParser, implementationOf, JOINT_UNIT_STRIDE, JointDirection, JointUnitKind, UnitFlag, type JointParser } from '../src/core/index.js';
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

type Subject = 'relay' | 'forwarder' | 'pairs';
type Mode = 'users-to-owner' | 'broadcast';

// ---- child processes ----------------------------------------------------------------------------

/** Child: the relay under test. */
async function serveRelay(): Promise<void> {
  const { Relay, silentLogger } = await import('../src/relay/index.js');
  // GAMEWIRE_BENCH_RELAY_OPTIONS (JSON): extra relay options, to compare settings in one run.
  const extra = JSON.parse(process.env.GAMEWIRE_BENCH_RELAY_OPTIONS ?? '{}') as Record<string, unknown>;
  const relay = await Relay.listen({ port: 0, logger: silentLogger, maxConnectionsPerIp: 0, keepaliveMs: 0, ...extra });
  process.stdout.write(JSON.stringify({ port: relay.port }) + '\n');
}

/** Child: the relay for the idle-memory case (defaults, but room for 10,000 connections). */
async function serveIdleRelay(): Promise<void> {
  const { Relay, silentLogger } = await import('../src/relay/index.js');
  const relay = await Relay.listen({ port: 0, logger: silentLogger, maxConnectionsPerIp: 0, maxConnections: 0 });
  answerRss();
  process.stdout.write(JSON.stringify({ port: relay.port }) + '\n');
}

/** The relay's reply to a create (joint.md §3.1): 5 bytes; the bare server answers as many. */
const IDLE_REPLY = Buffer.alloc(5);

/** Child: a bare Node TCP server that holds its sockets, discards what they send, and answers the first read with 5 bytes. */
function serveIdleBare(): void {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => {
      socket.write(IDLE_REPLY);
      socket.on('data', () => {});
    });
    sockets.push(socket);
  });
  answerRss();
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }) + '\n');
  });
}

/** Rounds of GC and finalizers before the RSS of the idle-memory case is read. */
const IDLE_GC_ROUNDS = 5;

/** Children of the idle-memory case answer each line on stdin with their RSS after a full GC. */
function answerRss(): void {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  process.stdin.on('data', async () => {
    // Native objects are freed by finalizers that run after a GC, and what they held only at a
    // later one (a parser's buffers): collect and let finalizers run, several rounds, so memory
    // waiting for a finalizer is not counted as held by the connections.
    for (let round = 0; round < IDLE_GC_ROUNDS; round++) {
      gc();
      await new Promise((r) => setTimeout(r, 200));
      gc();
    }
    process.stdout.write(JSON.stringify({ rss: process.memoryUsage().rss }) + '\n');
  });
}

/** Largest owner frame data (joint.md §2.5): the funnel splits longer reads. */
const FUNNEL_MAX_DATA = 32765;

/**
 * Child: the baseline forwarder. `pair`: connections 2k and 2k+1 are piped to each other.
 * `fanout`: the first connection's bytes are copied to every later one. `funnel`: every later
 * connection's bytes go to the first one, each read behind an owner frame header naming its sender.
 */
function serveForwarder(kind: 'pair' | 'fanout' | 'funnel'): void {
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
    } else if (kind === 'funnel') {
      if (index > 0) {
        const owner = sockets[0]!;
        const userNr = index - 1;
        socket.on('data', (chunk: Buffer) => {
          owner.cork();
          for (let at = 0; at < chunk.length; at += FUNNEL_MAX_DATA) {
            const n = Math.min(FUNNEL_MAX_DATA, chunk.length - at);
            owner.write(Buffer.from([...sizeHeader(n + 2), 0x80, userNr]));
            owner.write(at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n));
          }
          owner.uncork();
        });
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
/** `--profile-servers <dir>`: profile the forwarder children too. */
let profileAll = false;

function spawnServer(args: string[], nodeFlags: string[] = []): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const profile = profileDir !== undefined && (args[1] === 'relay' || profileAll) ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}/${args[1]}`] : [];
    const child = spawn(process.execPath, [...profile, ...nodeFlags, '--import', 'tsx', fileURLToPath(import.meta.url), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
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

/**
 * Counts delivered payload per route and samples latency from the timestamp at each frame's start.
 * With `nested` (the funnel), each route's data is the user's own frame stream, forwarded as is:
 * it goes through a second parser per route, as an owner of a funnel would have to do, so the
 * load generator does the same per-frame work for the relay's output and the funnel's.
 */
class Receiver {
  private readonly parser = createJointParser({ direction: JointDirection.ToClient });
  private readonly inner = new Map<number, JointParser>();
  /** Payload bytes seen per route (a * 256 + b + 1), to find where each sent frame begins. */
  private readonly offsets = new Float64Array(256 * 256 + 1);
  private readonly view = new DataView(new ArrayBuffer(TS_BYTES));
  private readonly tsBytes = new Uint8Array(this.view.buffer);
  private now = 0;

  constructor(
    private readonly payload: number,
    private readonly sink: { delivered: number; samples: number[]; sampling: boolean },
    private readonly nested = false,
  ) {}

  feed(chunk: Buffer): void {
    this.now = this.sink.sampling ? performance.now() : 0;
    this.parse(this.parser, chunk, 0, chunk.length, -1);
  }

  /** Parse `chunk[offset, offset + length)`; `route` >= 0 for a nested stream, which counts under it. */
  private parse(parser: JointParser, chunk: Buffer, offset: number, length: number, route: number): void {
    const end = offset + length;
    while (offset < end) {
      const n = parser.feed(chunk, offset, end - offset);
      const u = parser.units;
      for (let i = 0; i < n * JOINT_UNIT_STRIDE; i += JOINT_UNIT_STRIDE) {
        if (u[i] !== JointUnitKind.Data || (u[i + 1]! & UnitFlag.InCarry) !== 0) continue;
        const key = route >= 0 ? route : u[i + 2]! * 256 + u[i + 3]! + 1;
        if (this.nested && route < 0) {
          let p = this.inner.get(key);
          if (p === undefined) this.inner.set(key, (p = createJointParser({ direction: JointDirection.ToClient })));
          this.parse(p, chunk, u[i + 4]!, u[i + 5]!, key);
        } else {
          this.count(key, chunk, u[i + 4]!, u[i + 5]!);
        }
      }
      if (parser.error !== 0 || parser.consumed === 0) throw new Error(`receiver parse error ${parser.error}`);
      offset += parser.consumed;
    }
  }

  /** A piece of payload on route `key` at `chunk[start, start + length)`. */
  private count(key: number, chunk: Buffer, start: number, length: number): void {
    const seen = this.offsets[key]!;
    this.sink.delivered += length;
    if (this.sink.sampling) {
      // Frame starts inside this piece: where the route's byte count is a multiple of payload.
      for (let at = (this.payload - (seen % this.payload)) % this.payload; at + TS_BYTES <= length; at += this.payload) {
        for (let k = 0; k < TS_BYTES; k++) this.tsBytes[k] = chunk[start + at + k]!;
        this.sink.samples.push(this.now - this.view.getFloat64(0, true));
      }
    }
    this.offsets[key] = (seen + length) % this.payload;
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

/** CPU seconds (user + system) a child has used so far, from /proc (NaN where there is none). */
function childCpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // Fields 14 and 15 (utime, stime) in clock ticks; after the ") " split they are at 11 and 12.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** Clock ticks per second of /proc (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

interface CaseResult {
  /** CPU µs the server (relay or forwarder) and the load generator spent per delivered frame. */
  serverCpuUsPerFrame: number;
  loadCpuUsPerFrame: number;
  framesPerSec: number;
  mbPerSec: number;
  p99Ms: number;
  p50Ms: number;
}

async function runCase(subject: Subject, mode: Mode, payload: number, seconds: number): Promise<CaseResult> {
  const kind = subject === 'relay' ? 'relay' : mode === 'broadcast' ? 'fanout' : subject === 'pairs' ? 'pair' : 'funnel';
  const server = await spawnServer(['--serve', kind]);
  const sockets: Socket[] = [];
  const sink = { delivered: 0, samples: [] as number[], sampling: false };
  let sentPayload = 0;
  const fanout = mode === 'broadcast' ? USERS : 1;
  /** The funnel forwards each user's own frames: the receiver parses them per user. */
  const nested = kind === 'funnel';
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
    } else if (kind === 'funnel') {
      const owner = await tcp(server.port);
      sockets.push(owner);
      receivers.push(owner);
      await new Promise((r) => setTimeout(r, 20));
      const header = [...sizeHeader(payload + 1), 0];
      for (let i = 0; i < USERS; i++) {
        const user = await tcp(server.port);
        sockets.push(user);
        senders.push({ socket: user, batch: new Batch(header, payload) });
      }
      await new Promise((r) => setTimeout(r, 50));
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
      const receiver = new Receiver(payload, sink, nested);
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
    const c0 = childCpuSeconds(server.child.pid);
    const l0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const delivered = sink.delivered - d0;
    const elapsed = (performance.now() - t0) / 1000;
    const serverCpu = childCpuSeconds(server.child.pid) - c0;
    const l1 = process.cpuUsage(l0);
    const frames = delivered / payload;
    sink.sampling = false;
    const samples = Float64Array.from(sink.samples).sort();
    const pick = (q: number) => (samples.length === 0 ? NaN : samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!);
    return {
      serverCpuUsPerFrame: (serverCpu * 1e6) / frames,
      loadCpuUsPerFrame: (l1.user + l1.system) / frames,
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

// ---- idle memory (issue 13) --------------------------------------------------------------------

const IDLE_CONNECTIONS = 10_000;
/** Source addresses 127.0.0.2 .. 127.0.0.(1 + IDLE_SOURCES): several, as real clients come from many. */
const IDLE_SOURCES = 8;
/** Rounds of the idle-memory case (each server measured once per round, alternately); medians are reported. */
const IDLE_ROUNDS = 3;

/** The median of a few numbers. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Connections opened at once while filling. */
const IDLE_CONNECT_BATCH = 200;

/** Ask a child for its RSS (bytes) after a full GC. */
function childRss(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    let out = '';
    const on = (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      child.stdout!.off('data', on);
      resolve((JSON.parse(out.slice(0, nl)) as { rss: number }).rss);
    };
    child.stdout!.on('data', on);
    child.stdin!.write('rss\n');
  });
}

/** One idle connection: connect from `localAddress`, create joint `id` and wait for the reply (5 bytes). */
function idleConnection(port: number, localAddress: string, id: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress });
    s.once('error', reject);
    s.once('connect', () => {
      s.write(Buffer.concat([Buffer.of(0, 0, 1, id.length), Buffer.from(id)]));
      let got = 0;
      const on = (d: Buffer) => {
        got += d.length;
        if (got < 5) return;
        s.off('data', on);
        resolve(s);
      };
      s.on('data', on);
    });
  });
}

/** KiB of RSS per idle connection of one server kind ('idle-relay' or 'idle-bare'). */
async function idleKiBPerConnection(kind: 'idle-relay' | 'idle-bare'): Promise<number> {
  // A fixed young generation in both children: V8 grows and shrinks it with the allocation rate,
  // which would swing RSS by megabytes either way and hide a few KiB per connection.
  const server = await spawnServer(['--serve', kind], ['--expose-gc', '--min-semi-space-size=8', '--max-semi-space-size=8']);
  const sockets: Socket[] = [];
  try {
    // Warm up the code paths. Both servers answer the create with 5 bytes.
    const open = idleConnection;
    for (let i = 0; i < 50; i++) (await open(server.port, '127.0.0.1', `warm${i}`)).destroy();
    await new Promise((r) => setTimeout(r, 1500));
    const before = await childRss(server.child);
    for (let i = 0; i < IDLE_CONNECTIONS; i += IDLE_CONNECT_BATCH) {
      const batch: Promise<Socket>[] = [];
      for (let j = i; j < Math.min(IDLE_CONNECTIONS, i + IDLE_CONNECT_BATCH); j++) {
        batch.push(open(server.port, `127.0.0.${2 + (j % IDLE_SOURCES)}`, `room-${j}`));
      }
      sockets.push(...(await Promise.all(batch)));
    }
    // Past a keepalive sweep, so slabs of peers sent nothing since are given back.
    await new Promise((r) => setTimeout(r, 2500));
    const after = await childRss(server.child);
    return (after - before) / IDLE_CONNECTIONS / 1024;
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
  const profAll = args.indexOf('--profile-servers');
  if (profAll >= 0) {
    profileDir = args[profAll + 1];
    profileAll = true;
  }
  const only = args.indexOf('--only');
  const filter = only >= 0 ? (args[only + 1] ?? '') : '';
  const rows: BenchRow[] = [];
  for (const [id, mode, payload] of cases) {
    if (!id.includes(filter)) continue;
    const pairs = mode === 'users-to-owner' ? await runCase('pairs', mode, payload, seconds) : undefined;
    const forwarder = await runCase('forwarder', mode, payload, seconds);
    const relay = await runCase('relay', mode, payload, seconds);
    rows.push({
      case: id,
      subject: 'gamewire relay',
      baseline: mode === 'users-to-owner' ? 'node tcp funnel' : 'node tcp forwarder',
      ratio: relay.framesPerSec / forwarder.framesPerSec,
      subjectOpsPerSec: round3(relay.framesPerSec),
      baselineOpsPerSec: round3(forwarder.framesPerSec),
      subjectMBPerSec: round3(relay.mbPerSec),
      baselineMBPerSec: round3(forwarder.mbPerSec),
      subjectP99Ms: round3(relay.p99Ms),
      baselineP99Ms: round3(forwarder.p99Ms),
      subjectP50Ms: round3(relay.p50Ms),
      baselineP50Ms: round3(forwarder.p50Ms),
      subjectServerCpuUsPerFrame: round3(relay.serverCpuUsPerFrame),
      baselineServerCpuUsPerFrame: round3(forwarder.serverCpuUsPerFrame),
      subjectLoadCpuUsPerFrame: round3(relay.loadCpuUsPerFrame),
      baselineLoadCpuUsPerFrame: round3(forwarder.loadCpuUsPerFrame),
      ...(pairs === undefined
        ? {}
        : { pairsBaselineOpsPerSec: round3(pairs.framesPerSec), pairsBaselineP99Ms: round3(pairs.p99Ms), ratioVsPairs: round3(relay.framesPerSec / pairs.framesPerSec) }),
      users: USERS,
      payloadBytes: payload,
      windowBytes: WINDOW_BYTES,
    });
  }
  if ('relay-idle-memory-10k'.includes(filter)) {
    // RSS at this scale moves by a KiB per connection between identical runs (malloc and V8 page
    // reuse): alternate the two servers over a few rounds and compare medians.
    const bareRuns: number[] = [];
    const relayRuns: number[] = [];
    for (let round = 0; round < IDLE_ROUNDS; round++) {
      bareRuns.push(round3(await idleKiBPerConnection('idle-bare')));
      relayRuns.push(round3(await idleKiBPerConnection('idle-relay')));
    }
    const bare = median(bareRuns);
    const relay = median(relayRuns);
    rows.push({
      case: 'relay-idle-memory-10k',
      subject: 'gamewire relay',
      baseline: 'node tcp server (same I/O)',
      ratio: relay / bare,
      subjectKiBPerConnection: round3(relay),
      baselineKiBPerConnection: round3(bare),
      subjectKiBRuns: relayRuns,
      baselineKiBRuns: bareRuns,
      connections: IDLE_CONNECTIONS,
      sourceAddresses: IDLE_SOURCES,
    });
  }
  report('relay', rows, {
    jointParser: implementationOf('jointParser'),
    users: USERS,
    secondsPerCase: seconds,
    note:
      'ops/s = delivered frames/s (broadcast: frames received by all users together); p99 = send to delivery under closed-loop load; users-to-owner baseline = funnel (32 users into one owner socket, as the relay), pairs = 32 separate pipes (reported, not the ratio); relay-idle-memory-10k: ratio = median relay KiB of RSS per idle connection ÷ median KiB of a bare Node server doing the same I/O (3 alternating rounds; lower is better)',
  });
  for (const r of rows) {
    if (r.subjectKiBPerConnection !== undefined) {
      process.stdout.write(`# ${r.case}: relay ${r.subjectKiBPerConnection} KiB per idle connection (runs ${String(r.subjectKiBRuns)}) | bare node ${r.baselineKiBPerConnection} KiB (runs ${String(r.baselineKiBRuns)})\n`);
      continue;
    }
    process.stdout.write(
      `# ${r.case}: relay ${r.subjectMBPerSec} MB/s p99 ${r.subjectP99Ms} ms cpu ${r.subjectServerCpuUsPerFrame}+${r.subjectLoadCpuUsPerFrame} us/frame | ` +
        `forwarder ${r.baselineMBPerSec} MB/s p99 ${r.baselineP99Ms} ms cpu ${r.baselineServerCpuUsPerFrame}+${r.baselineLoadCpuUsPerFrame} us/frame\n`,
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
  else if (kind === 'idle-relay') void serveIdleRelay();
  else if (kind === 'idle-bare') serveIdleBare();
  else serveForwarder(kind === 'fanout' ? 'fanout' : kind === 'funnel' ? 'funnel' : 'pair');
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
