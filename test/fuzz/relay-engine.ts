/**
 * The `relay-engine` fuzz target (issue 19, Safety): fuzz inputs as raw TCP streams into a relay
 * on 127.0.0.1 running the chosen engine (`--engine native|node`, default native), so the native
 * engine's read loop, parser feeding, command hand-off, WebSocket upgrade and frame decoding run
 * on hostile bytes (under `--asan`, on the sanitized addon).
 *
 * An input is the joint-parser-to-relay format: byte 0 picks how it goes in (below), the rest is
 * the stream, written in pieces split where a hash of the input says. So that target's corpus and
 * generator feed this one. Modes (byte 0 % 4; the WebSocket ones only when the relay speaks it):
 *   0, 1  raw TCP: the stream as it is (a stream starting with `G` is an HTTP request)
 *   2     WebSocket: a valid upgrade, then the stream in masked binary frames (fragmented,
 *         pings between) — the joint parser behind the WebSocket decoder
 *   3     WebSocket: a valid upgrade, then the stream as raw frame bytes (the frame decoder)
 *
 * Checked on every execution (a failure names the input, saved under test/artifacts/; the run
 * goes on until MAX_FAILURES):
 * - a stream the TypeScript JointParser rejects (modes 0-2) makes the relay drop that peer
 *   within DROP_DEADLINE_MS; other streams may be dropped by the relay's own rules (commands,
 *   routes) or left open, and are closed by us after SETTLE_MS.
 * Checked after every batch of BATCH executions:
 * - a good owner/user pair on its own joint, connected all along, still forwards both ways,
 *   byte for byte, within GOOD_DEADLINE_MS;
 * - the relay's connections return to the good pair's 2 and its pending connections and
 *   outbound backlog to 0 within SETTLE_DEADLINE_MS (nothing kept per hostile peer);
 * - RSS stays under MAX_RSS_MIB (bounded memory; under ASan the quarantine and shadow are in it).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, fallbackFactories, JointDirection } from '../../src/core/index.js';
import { Relay, type Logger } from '../../src/relay/index.js';
import { nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';
import { connectPair, JointPeer, sizeHeader } from '../soak/joint-peer.js';
import { matchesPattern, patternSlice } from '../soak/pattern.js';
import { readCorpus } from './corpus.js';
import { mutate } from './mutate.js';
import { hashBytes, Rng, splitLengths } from './rng.js';
import { TARGETS } from './targets.js';

export const RELAY_ENGINE_TARGET = 'relay-engine';
/** The target whose corpus, seeds and generator this one borrows (same input format). */
const SOURCE_TARGET = 'joint-parser-to-relay';
/** Executions run at once (each its own connection). */
const PARALLEL = 8;
/** Executions between checks of the good pair and of the relay's gauges. */
const BATCH = 64;
/** A stream the parser rejects must be dropped within this (ms; generous for a loaded machine under ASan). */
const DROP_DEADLINE_MS = 5000;
/** A stream the parser accepts stays open this long after its last write, then we close it (ms). */
const SETTLE_MS = 30;
/** The good pair's check message must arrive within this (ms). */
const GOOD_DEADLINE_MS = 5000;
/** Connections, pending connections and backlog must be back to the good pair's within this (ms). */
const SETTLE_DEADLINE_MS = 5000;
/** Bytes of the good pair's check message each way per batch. */
const GOOD_BYTES = 3000;
/** RSS at which the run fails (MiB): far above a healthy run, even sanitized (about 600 MiB). */
const MAX_RSS_MIB = 2048;
/** Failing inputs saved per run. */
const MAX_SAVED = 10;
/** The run stops after this many failures (it goes on past the first so one bug does not hide the next). */
const MAX_FAILURES = 50;
/** A valid upgrade request (joint.md §9), the one the `ws` package sends, minus extensions. */
const UPGRADE = Buffer.from(
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
);
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts', 'fuzz-relay-engine');

/** Options of one relay-engine run. */
export interface RelayEngineFuzzOptions {
  engine: 'native' | 'node';
  ms: number;
  seed: number;
  /** Unused for failing inputs: they always go to test/artifacts/fuzz-relay-engine/ (ignored by git), to reproduce them. */
  save: boolean;
  log: (line: string) => void;
}

/** What a run did. */
export interface RelayEngineFuzzResult {
  executions: number;
  failures: number;
  /** Executions by how they went in and how they ended (`raw: dropped`, `ws-joint: left open`...). */
  outcomes: Record<string, number>;
  /** Drops the relay logged, by reason. */
  drops: Record<string, number>;
  rssMaxMib: number;
  seconds: number;
  /** What was left out and why (WebSocket modes on a relay without it). */
  leftOut: string[];
}

/** The parser's verdict on a stream: null when it parses (maybe ending in a partial unit), else the error. */
export function jointError(stream: Uint8Array): number | null {
  const p = fallbackFactories.jointParser({ direction: JointDirection.ToRelay, maxUnits: 1024 });
  let off = 0;
  for (let guard = 0; guard <= stream.length + 1; guard++) {
    p.feed(stream, off, stream.length - off);
    if (p.error !== ErrorCode.Ok) return p.error;
    off += p.consumed;
    if (off >= stream.length) return null;
  }
  throw new Error('the fallback JointParser made no progress');
}

/** A masked client frame (RFC 6455 §5.2). */
function wsFrame(opcode: number, fin: boolean, payload: Uint8Array, mask: number): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.of((fin ? 0x80 : 0) | opcode, 0x80 | n) : n < 65536 ? Buffer.of((fin ? 0x80 : 0) | opcode, 0x80 | 126, n >> 8, n & 0xff) : null;
  if (head === null) throw new Error('wsFrame: payload too long for the fuzzer');
  const key = Buffer.alloc(4);
  key.writeUInt32BE(mask >>> 0);
  const body = Buffer.from(payload);
  for (let i = 0; i < n; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([head, key, body]);
}

/** The stream in masked binary messages, some fragmented, with pings between (deterministic per `seed`). */
function wsWrap(stream: Uint8Array, seed: number): Buffer {
  const rng = new Rng(seed);
  const parts: Buffer[] = [UPGRADE];
  let at = 0;
  while (at < stream.length) {
    const n = Math.min(stream.length - at, 1 + rng.length(4096));
    const message = stream.subarray(at, at + n);
    at += n;
    const fragments = rng.oneIn(4) ? rng.range(2, 4) : 1;
    let from = 0;
    for (let f = 0; f < fragments; f++) {
      const to = f === fragments - 1 ? message.length : Math.min(message.length, from + rng.int(message.length - from + 1));
      parts.push(wsFrame(f === 0 ? 2 : 0, f === fragments - 1, message.subarray(from, to), rng.u32()));
      from = to;
      if (rng.oneIn(8)) parts.push(wsFrame(9, true, rng.bytes(rng.int(8)), rng.u32()));
    }
  }
  return Buffer.concat(parts);
}

type Mode = 'raw' | 'ws-joint' | 'ws-frames';

/** How `input` goes in: the mode, the bytes on the wire, and whether the joint parser sees them as they are. */
function wire(input: Uint8Array, webSocket: boolean): { mode: Mode; bytes: Uint8Array; stream: Uint8Array } {
  const stream = input.subarray(1);
  const pick = webSocket ? (input[0] ?? 0) % 4 : 0;
  if (pick === 2) return { mode: 'ws-joint', bytes: wsWrap(stream, hashBytes(input)), stream };
  if (pick === 3) return { mode: 'ws-frames', bytes: Buffer.concat([UPGRADE, stream]), stream };
  return { mode: 'raw', bytes: stream, stream };
}

/** Connect from `from`, write `bytes` in the pieces of `seed`, and report how the connection ended. */
async function execute(port: number, from: string, bytes: Uint8Array, seed: number, mustDrop: boolean): Promise<'dropped' | 'left open' | 'not dropped' | 'refused'> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  let closed = false;
  const closedP = new Promise<void>((done) => socket.once('close', () => ((closed = true), done())));
  const connected = await new Promise<boolean>((done) => {
    socket.once('connect', () => done(true));
    socket.once('close', () => done(false));
  });
  if (!connected) return 'refused';
  const pieces = splitLengths(bytes.length, seed);
  let at = 0;
  for (let i = 0; i < pieces.length && !closed; i++) {
    socket.write(bytes.subarray(at, at + pieces[i]!));
    at += pieces[i]!;
    // Now and then let the relay read what is there, so pieces arrive in separate reads.
    if (i % 16 === 15) await new Promise((r) => setImmediate(r));
  }
  await new Promise<void>((done) => (closed || socket.destroyed ? done() : socket.write(Buffer.alloc(0), () => done())));
  let timer: NodeJS.Timeout | undefined;
  const wait = (ms: number) => Promise.race([closedP, new Promise<void>((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
  await wait(mustDrop ? DROP_DEADLINE_MS : SETTLE_MS);
  const wasClosed = closed;
  socket.destroy();
  await closedP;
  if (wasClosed) return 'dropped';
  return mustDrop ? 'not dropped' : 'left open';
}

/** A good owner and user on one joint, checked both ways after each batch. */
class GoodPair {
  private sent = 0;
  private upReceived = 0;
  private downReceived = 0;
  private bad: string | null = null;

  private constructor(
    readonly owner: JointPeer,
    readonly user: JointPeer,
    private readonly jOwn: number,
    private readonly jIn: number,
    private readonly userNr: number,
  ) {
    owner.onFrame = (body) => {
      if (body[0] !== jOwn + 128 || body[1] !== userNr) return; // a hostile user who entered by chance
      const data = body.subarray(2);
      if (!matchesPattern(1, this.upReceived, data)) this.bad ??= `owner got changed bytes at ${this.upReceived}`;
      this.upReceived += data.length;
    };
    user.onFrame = (body) => {
      const data = body.subarray(1);
      if (body[0] !== jIn) this.bad ??= `user got a frame for jIn ${body[0]}`;
      else if (!matchesPattern(2, this.downReceived, data)) this.bad ??= `user got changed bytes at ${this.downReceived}`;
      this.downReceived += data.length;
    };
  }

  static async open(port: number): Promise<GoodPair> {
    const { owner, user, jOwn, jIn, userNr } = await connectPair(port, `fuzz-good-${process.pid}`, 5000, 'relay-engine: no userConnect for the good user');
    return new GoodPair(owner, user, jOwn, jIn, userNr);
  }

  /** One message each way; null when both arrived intact in time, else what went wrong. */
  async check(): Promise<string | null> {
    if (this.owner.closed || this.user.closed) return `a good peer was disconnected (${this.owner.closeError ?? this.user.closeError ?? 'closed'})`;
    const from = this.sent;
    this.sent += GOOD_BYTES;
    this.user.socket.write(Buffer.concat([sizeHeader(1 + GOOD_BYTES), Buffer.of(this.jIn), patternSlice(1, from, GOOD_BYTES)]));
    this.owner.socket.write(Buffer.concat([sizeHeader(2 + GOOD_BYTES), Buffer.of(this.jOwn + 128, this.userNr), patternSlice(2, from, GOOD_BYTES)]));
    const until = Date.now() + GOOD_DEADLINE_MS;
    while (this.bad === null && (this.upReceived < this.sent || this.downReceived < this.sent) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 5));
    }
    if (this.bad !== null) return this.bad;
    if (this.upReceived !== this.sent || this.downReceived !== this.sent) {
      return `the good pair got ${this.upReceived}/${this.sent} bytes up and ${this.downReceived}/${this.sent} down within ${GOOD_DEADLINE_MS} ms`;
    }
    if (this.owner.failed ?? this.user.failed) return `a good peer's stream desynced: ${this.owner.failed ?? this.user.failed}`;
    return null;
  }

  close(): void {
    this.owner.destroy();
    this.user.destroy();
  }
}

/**
 * Fuzz a relay on `options.engine` for `options.ms`. Never throws for what it finds: failures
 * are counted and printed.
 * @throws Error when the relay cannot run that engine (no addon, an addon without the engine)
 */
export async function fuzzRelayEngine(options: RelayEngineFuzzOptions): Promise<RelayEngineFuzzResult> {
  const { log } = options;
  let webSocket = true;
  const leftOut: string[] = [];
  if (options.engine === 'native') {
    const support = nativeEngineSupport();
    if (typeof support === 'string') throw new Error(`relay-engine: the native engine cannot run here: ${support}`);
    // Older addons were built without the codec; once it is always in, the field may go.
    if ((support as { webSocket?: boolean }).webSocket === false) {
      webSocket = false;
      leftOut.push('WebSocket modes (the addon\'s native engine has no WebSocket codec): every input goes in as raw TCP');
    }
  }
  const drops: Record<string, number> = {};
  let why: string | undefined;
  const count = (key: string): void => {
    const k = key.replace(/\d+/g, 'N').slice(0, 80);
    drops[k] = (drops[k] ?? 0) + 1;
  };
  const logger: Logger = {
    error: (msg, f) => count(`log error: ${msg} ${String(f?.detail ?? '')}`),
    warn: (msg, f) => count(`log warn: ${msg} ${String(f?.detail ?? '')}`),
    info: (msg, f) => {
      if (msg === 'connection dropped') count(`${String(f?.reason)}${f?.detail ? `: ${String(f.detail)}` : ''}`);
    },
    debug: (msg, f) => {
      if (f?.why !== undefined) why = `${msg}: ${String(f.why)}`;
    },
  };
  const relay = await Relay.listen({
    host: '127.0.0.1',
    port: 0,
    engine: options.engine,
    websocket: webSocket,
    logger,
    // Budgets out of the way: a stream the parser rejects must reach its error, not wait on a throttle.
    inboundBytesPerSec: 0,
    inboundUnitsPerSec: 0,
    commandsPerSec: 0,
    loginTimeoutMs: 2000,
  });
  if (relay.engine !== options.engine) {
    await relay.close();
    throw new Error(`relay-engine: engine '${options.engine}' asked, '${relay.engine}' runs (${why ?? 'no reason logged'})`);
  }
  const port = relay.port;
  const source = TARGETS.find((t) => t.name === SOURCE_TARGET)!;
  const corpus: Uint8Array[] = [...source.seeds(), ...readCorpus(SOURCE_TARGET).map((f) => f.bytes)];
  const rng = new Rng(options.seed ^ 0x5e1a7);
  const outcomes: Record<string, number> = {};
  let executions = 0;
  let failures = 0;
  let saved = 0;
  let rssMax = 0;
  const fail = (what: string, input?: Uint8Array): void => {
    failures++;
    let name = '';
    if (input !== undefined && saved < MAX_SAVED) {
      saved++;
      mkdirSync(ARTIFACTS, { recursive: true });
      name = join(ARTIFACTS, `failure-${createHash('sha1').update(input).digest('hex').slice(0, 12)}.bin`);
      writeFileSync(name, input);
    }
    log(`relay-engine: FAILURE ${what}${name ? ` (input ${name})` : input ? ` (input ${Buffer.from(input.subarray(0, 64)).toString('hex')}${input.length > 64 ? '…' : ''}, ${input.length} bytes)` : ''}`);
  };
  const good = await GoodPair.open(port);
  const started = performance.now();
  let corpusAt = 0;
  try {
    while (performance.now() - started < options.ms && failures < MAX_FAILURES) {
      const batch: Promise<void>[] = [];
      let next = 0;
      const inputs: Uint8Array[] = [];
      for (let i = 0; i < BATCH; i++) {
        // The corpus once in order first, then mutations and generated inputs.
        const input =
          corpusAt < corpus.length ? corpus[corpusAt++]! : rng.oneIn(4) ? source.generate(rng) : mutate(rng, rng.pick(corpus), rng.pick(corpus), source.maxInputBytes);
        inputs.push(input);
      }
      const worker = async (): Promise<void> => {
        while (next < inputs.length) {
          const input = inputs[next++]!;
          const n = executions++;
          const { mode, bytes, stream } = wire(input, webSocket);
          // The parser's verdict applies where the relay's joint parser sees the stream as it is.
          const rawHttp = mode === 'raw' && stream[0] === 0x47 && webSocket;
          const mustDrop = mode !== 'ws-frames' && !rawHttp && jointError(stream) !== null;
          const from = `127.0.${1 + (n % 200)}.${2 + ((n >> 3) % 250)}`;
          const outcome = await execute(port, from, bytes, hashBytes(input) ^ 0x9e37, mustDrop);
          const key = `${mode}${rawHttp ? ' (http)' : ''}: ${outcome}`;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
          if (outcome === 'not dropped') fail(`${mode}: a stream the joint parser rejects (${jointError(stream)}) was not dropped within ${DROP_DEADLINE_MS} ms`, input);
          if (outcome === 'refused') fail(`${mode}: the relay refused a connection`, input);
        }
      };
      for (let w = 0; w < PARALLEL; w++) batch.push(worker());
      await Promise.all(batch);
      const goodProblem = await good.check();
      if (goodProblem !== null) fail(`after execution ${executions}: ${goodProblem}`);
      // Everything a hostile peer held must go when it goes.
      const until = Date.now() + SETTLE_DEADLINE_MS;
      let s = relay.stats();
      while ((s.connections !== 2 || s.pendingConnections !== 0 || s.backlogBytes !== 0) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 10));
        s = relay.stats();
      }
      if (s.connections !== 2 || s.pendingConnections !== 0 || s.backlogBytes !== 0) {
        fail(`after execution ${executions}: ${s.connections} connections (2 expected), ${s.pendingConnections} pending, ${s.backlogBytes} backlog bytes ${SETTLE_DEADLINE_MS} ms after every hostile peer closed`);
      }
      const rss = process.memoryUsage.rss() / 2 ** 20;
      rssMax = Math.max(rssMax, rss);
      if (rss > MAX_RSS_MIB) fail(`RSS ${rss.toFixed(0)} MiB past ${MAX_RSS_MIB} MiB after execution ${executions}`);
    }
  } finally {
    good.close();
    await relay.close();
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  return { executions, failures, outcomes, drops, rssMaxMib: Math.round(rssMax), seconds, leftOut };
}
