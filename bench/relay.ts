/**
 * `npm run bench -- relay`: one owner and 32 users on one joint, through the relay and through a
 * minimal Node TCP forwarder (written here: one process piping bytes between sockets, no parsing),
 * both run as child processes and driven by the same closed-loop load from this process: the
 * engine of `gamewire bench` (src/bench; one load generator in the project, issue 17), which
 * stamps every payload and checks every delivery (lost and corrupted counts must be 0), and keeps
 * latency in an HdrHistogram. The relay is loaded by the relay driver (src/bench/drivers/relay.ts);
 * the forwarders cannot answer a joint create or enter, so they get a driver of their own
 * (bench/drivers/tcp-forwarder.ts) that sends the same joint frames and chunks and parses what
 * arrives the same way.
 *
 * Cases (ids never renamed): relay-users-to-owner-64B / -1KiB (every user sends frames to the
 * owner), relay-broadcast-64B / -1KiB (the owner broadcasts to all 32 users). Figures: delivered
 * frames/s (ops/s), MB/s of payload, p50/p90/p99 latency (send to delivery, in ms). Ratio = relay frames/s
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
 * parses the frames once; with the funnel's, the one extra header per forwarded read too); both
 * then reassemble the chunks. The
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
 * Options: `--seconds <n>` measured seconds per run (default 2, at least 2: the server's CPU is
 * read from the 2nd measured second on); `--rounds <n>` alternating rounds per case (default 3;
 * the ratio is the median of the rounds' ratios, the other figures those of the median round,
 * ops/s of the pairs their median); `--only <text>`
 * runs the cases whose id contains it; `--profile-relay <dir>` writes CPU profiles of the relay,
 * `--profile-servers <dir>` of the relay and the forwarders. Each row also gives the CPU time the
 * server and the load generator spent per delivered frame (robust on a loaded machine). The
 * generator stamps and checks every byte of every payload, so it costs several times what the
 * hand-written loop it replaced did (which only wrote a timestamp): on two cores its CPU bounds
 * the throughput of both subjects alike, and the servers' CPU per frame is the sharper comparison.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { implementationOf } from '../src/core/index.js';
import { bench, benchWith, type BenchOptions } from '../src/bench/index.js';
import { forwarderDriver, type ForwarderTopology } from './drivers/tcp-forwarder.js';
import { engineFields, engineRun, median, report, round3, serveUntilParentGoes, spawnServer, stopServer, type BenchRow, type EngineFigures } from './lib.js';

/** This file: its `--serve <kind>` branch runs the server children. */
const SELF = fileURLToPath(import.meta.url);
const USERS = 32;
/** Warm-up of each run (s): connections, JIT and socket buffers settle; not measured. */
const WARMUP_SEC = 0.5;
/**
 * Payload bytes in flight (sent and not yet delivered, counted at the receivers: a broadcast
 * frame counts once per user) that the closed loop allows; the engine's window (frames per
 * sender) is derived from it per case (windowFrames).
 */
const WINDOW_BYTES = 1024 * 1024;

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

/** A joint frame's size header (joint.md §2.2): one byte below 128, else two. */
function sizeHeader(size: number): number[] {
  return size < 128 ? [size] : [(size >> 8) + 0x80, size & 0xff];
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

// ---- load: the engine of gamewire bench (src/bench) -------------------------------------------

/** The forwarder child of each baseline topology. */
const FORWARDER_KIND: Record<ForwarderTopology, string> = { funnel: 'funnel', fanout: 'fanout', pair: 'pair' };

/**
 * Frames in flight per sender: WINDOW_BYTES of payload in flight, counted at the receivers, over
 * the senders (users-to-owner: 32 users; broadcast: the owner, whose frames reach 32 users).
 */
function windowFrames(mode: Mode, payload: number): number {
  const senders = mode === 'broadcast' ? 1 : USERS;
  const fanout = mode === 'broadcast' ? USERS : 1;
  return Math.max(1, Math.round(WINDOW_BYTES / (payload * senders * fanout)));
}

/** One subject of one case, driven by the engine: the relay with the relay driver, a forwarder with its own. */
async function runCase(subject: Subject, mode: Mode, payload: number, seconds: number): Promise<EngineFigures> {
  const topology: ForwarderTopology = mode === 'broadcast' ? 'fanout' : subject === 'pairs' ? 'pair' : 'funnel';
  const kind = subject === 'relay' ? 'relay' : FORWARDER_KIND[topology];
  const profile = profileDir !== undefined && (kind === 'relay' || profileAll) ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}/${kind}`] : [];
  const server = await spawnServer(SELF, [kind], profile);
  try {
    const options: BenchOptions = {
      kind: 'relay',
      host: '127.0.0.1',
      port: server.port,
      mode,
      users: USERS,
      size: payload,
      window: windowFrames(mode, payload),
      durationSec: seconds,
      warmupSec: WARMUP_SEC,
    };
    const label = `${mode} ${payload} B ${subject}`;
    return await engineRun(label, server, seconds, (onProgress) =>
      subject === 'relay' ? bench({ ...options, onProgress }) : benchWith(forwarderDriver(topology), { ...options, onProgress }),
    );
  } finally {
    await stopServer(server);
  }
}

// ---- idle memory (issue 13) --------------------------------------------------------------------

const IDLE_CONNECTIONS = 10_000;
/** Source addresses 127.0.0.2 .. 127.0.0.(1 + IDLE_SOURCES): several, as real clients come from many. */
const IDLE_SOURCES = 8;
/** Rounds of the idle-memory case (each server measured once per round, alternately); medians are reported. */
const IDLE_ROUNDS = 3;


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
  const server = await spawnServer(SELF, [kind], ['--expose-gc', '--min-semi-space-size=8', '--max-semi-space-size=8']);
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
  const roundsAt = args.indexOf('--rounds');
  const roundCount = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 3;
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
    // Alternating rounds (the relay first in odd rounds), ratio per round: the machine is shared,
    // and one round of each swung the ratio by ±30% between runs here.
    const rounds: { relay: EngineFigures; forwarder: EngineFigures; pairs?: EngineFigures }[] = [];
    for (let r = 0; r < roundCount; r++) {
      const relayFirst = r % 2 === 1;
      const early = relayFirst ? await runCase('relay', mode, payload, seconds) : undefined;
      const pairsRun = mode === 'users-to-owner' ? await runCase('pairs', mode, payload, seconds) : undefined;
      const forwarderRun = await runCase('forwarder', mode, payload, seconds);
      const relayRun = early ?? (await runCase('relay', mode, payload, seconds));
      rounds.push({ relay: relayRun, forwarder: forwarderRun, ...(pairsRun === undefined ? {} : { pairs: pairsRun }) });
    }
    const ratios = rounds.map((x) => x.relay.framesPerSec / x.forwarder.framesPerSec);
    const ratio = median(ratios);
    // The figures of the round whose ratio is the median: its latency and CPU belong together.
    const mid = rounds[ratios.map((x) => Math.abs(x - ratio)).reduce((m, d, i, all) => (d < all[m]! ? i : m), 0)]!;
    const { relay, forwarder } = mid;
    const pairsMedian = mode === 'users-to-owner' ? median(rounds.map((x) => x.pairs!.framesPerSec)) : undefined;
    const pairs = mid.pairs;
    rows.push({
      case: id,
      subject: 'gamewire relay',
      baseline: mode === 'users-to-owner' ? 'node tcp funnel' : 'node tcp forwarder',
      ratio,
      ...engineFields(relay, forwarder),
      subjectRounds: rounds.map((x) => round3(x.relay.framesPerSec)),
      baselineRounds: rounds.map((x) => round3(x.forwarder.framesPerSec)),
      ...(pairs === undefined || pairsMedian === undefined
        ? {}
        : {
            pairsBaselineOpsPerSec: round3(pairsMedian),
            pairsBaselineP50Ms: round3(pairs.p50Ms),
            pairsBaselineP99Ms: round3(pairs.p99Ms),
            pairsBaselineLost: pairs.lost,
            pairsBaselineCorrupted: pairs.corrupted,
            ratioVsPairs: round3(median(rounds.map((x) => x.relay.framesPerSec / x.pairs!.framesPerSec))),
          }),
      users: USERS,
      payloadBytes: payload,
      windowBytes: WINDOW_BYTES,
      windowFramesPerSender: windowFrames(mode, payload),
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
    rounds: roundCount,
    generator: 'gamewire bench engine (src/bench), one thread, closed loop; subject: the relay driver; baselines: bench/drivers/tcp-forwarder.ts',
    warmupSec: WARMUP_SEC,
    note:
      'ops/s = delivered frames/s (broadcast: frames received by all users together); p50/p90/p99 = send to delivery (HdrHistogram of every delivery) under closed-loop load, WINDOW_BYTES of payload in flight; LoadCpu = generator CPU per delivered frame; ratio = median over the alternating rounds of relay ÷ baseline ops/s, the other figures from the median round; users-to-owner baseline = funnel (32 users into one owner socket, as the relay), pairs = 32 separate pipes (reported, not the ratio); relay-idle-memory-10k: ratio = median relay KiB of RSS per idle connection ÷ median KiB of a bare Node server doing the same I/O (3 alternating rounds; lower is better)',
  });
  for (const r of rows) {
    if (r.subjectKiBPerConnection !== undefined) {
      process.stdout.write(`# ${r.case}: relay ${r.subjectKiBPerConnection} KiB per idle connection (runs ${String(r.subjectKiBRuns)}) | bare node ${r.baselineKiBPerConnection} KiB (runs ${String(r.baselineKiBRuns)})\n`);
      continue;
    }
    process.stdout.write(
      `# ${r.case}: relay ${r.subjectMBPerSec} MB/s p50 ${r.subjectP50Ms} p99 ${r.subjectP99Ms} ms cpu ${r.subjectServerCpuUsPerFrame}+${r.subjectLoadCpuUsPerFrame} us/frame lost ${r.subjectLost} | ` +
        `${r.baseline} ${r.baselineMBPerSec} MB/s p50 ${r.baselineP50Ms} p99 ${r.baselineP99Ms} ms cpu ${r.baselineServerCpuUsPerFrame}+${r.baselineLoadCpuUsPerFrame} us/frame lost ${r.baselineLost}\n`,
    );
  }
  return rows;
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) {
  serveUntilParentGoes();
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
