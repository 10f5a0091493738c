/**
 * mm load: a plain and a keyed (AES-256) Server that echo every table back to its sender; good
 * Clients check every echo, in order, field by field, including large chunked tables. Hostile
 * peers speak raw bytes (docs/protocol.md): garbage, oversize and zero frames, a wrong version
 * or key, floods of tiny messages, slow readers, messages cut off mid-chunk, bad chunk prefixes
 * and tables, silent and idle peers, connection storms, WebSocket garbage, and one IP filling
 * every connection slot or every handshake slot it may (issue 14) while a new good client from
 * 127.0.0.1 must still connect and get its echo.
 */
import { randomBytes } from 'node:crypto';
import { pack } from 'msgpackr';
import WebSocket from 'ws';
import { Client, EventType, Server, type MmEvent, type ServerOptions } from '../../src/mm/index.js';
import type { Table } from '../../src/codec/table.js';
import { MAX_CONNECTIONS_PER_IP, MAX_PENDING_HANDSHAKES_PER_IP, WAIT_FOR_CONNECT_MAX_S } from '../../src/mm/limits.js';
import { sleep, waitFor, type LoadSettings } from './component.js';
import { LoadHarness } from './load-harness.js';
import { patternText, type SoakRng } from './pattern.js';
import type { Tally } from './tally.js';
import { closedWithin, connectRaw, connectStorm, type RawPeer } from './tcp-peer.js';

const KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const WRONG_KEY = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const POLL_MS = 10;
/**
 * Event queues of the soak. Servers: room for several floods at the inbound limit at once.
 * Arenas: 4 MiB (messages are at most 1 MiB here) instead of the default 17 MiB, because an
 * arena's pages stay resident once a burst touched them, so with the default each queue's RSS
 * creeps toward 17 MiB as rarer, larger bursts arrive (a high-water mark, not a leak).
 */
export const SOAK_MM_QUEUE = { capacity: 16384, arenaBytes: 4 * 1024 * 1024 };
const SOAK_MM_CLIENT_QUEUE = { arenaBytes: 4 * 1024 * 1024 };
/** A probe's queue: one small echo, so no 4 MiB arena per probe in the process the soak judges. */
const PROBE_QUEUE = { capacity: 64, arenaBytes: 64 * 1024 };
/** A plaintext KEEPALIVE frame (docs/protocol.md §5), written again and again by ip-fill. */
const KEEPALIVE_FRAME = Buffer.of(1, 0, 0, 0, 0x20);
/** WELCOME frame bytes: a peer that received this many completed (plain) or started (keyed) its handshake. */
const WELCOME_BYTES = 43;
const SEND_MS = 20;
/** Echoes a good client may wait for at once. */
const MAX_OUTSTANDING = 64;

/** Server and client limits of the soak: tighter than the defaults so hostile peers hit them fast. */
export const SOAK_MM_OPTIONS = {
  // Below the server queue's capacity (SOAK_MM_QUEUE): with the default 200 000/s, one peer's
  // single read can push more RECEIVE events than the ring holds and evict other clients' events.
  maxInboundPerSecond: 1000,
  maxSendBufferBytes: 1024 * 1024,
  maxMessageBytes: 1024 * 1024,
  handshakeTimeoutMs: 2000,
  keepaliveIntervalMs: 1000,
  keepaliveTimeoutMs: 4000,
};

interface Sent {
  seq: number;
  pos: number;
  len: number;
}

interface Good {
  index: number;
  key: number;
  client: Client;
  seq: number;
  pos: number;
  outstanding: Sent[];
  bad: boolean;
  bytesSent: number;
}

/** A HELLO frame (docs/protocol.md §4.1). */
function hello(version = 1, flags = 0): Buffer {
  return Buffer.concat([Buffer.of(0x27, 0, 0, 0, 0x01, 0x47, 0x57, 0x4d, 0x4d, version, flags), randomBytes(32)]);
}

/** A frame: u32 LE length, body. */
function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length);
  return Buffer.concat([head, body]);
}

/** The chunk prefix (joint.md §10 varint, N = 4) of a message of `length` bytes. */
function chunkPrefix(length: number): Buffer {
  let v = length - 1;
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (v < 128) {
      out.push(v);
      return Buffer.from(out);
    }
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v & 0xff);
  return Buffer.from(out);
}

/** DATA frames carrying `messages` (each already a MessagePack table). */
function dataFrames(messages: Buffer[], maxPayload = 65000): Buffer[] {
  const stream = Buffer.concat(messages.flatMap((m) => [chunkPrefix(m.length), m]));
  const frames: Buffer[] = [];
  for (let at = 0; at < stream.length; at += maxPayload) frames.push(frame(Buffer.concat([Buffer.of(0x10), stream.subarray(at, at + maxPayload)])));
  return frames;
}

const HOSTILE_KINDS = [
  'garbage', 'oversize-frame', 'zero-frame', 'bad-version', 'slow-reader', 'flood', 'killed-mid-chunk', 'bad-chunk',
  'bad-table', 'oversize-message', 'silent', 'idle-after-handshake', 'storm', 'wrong-key', 'key-one-side', 'bad-seal', 'ws-garbage',
  'ip-fill', 'ip-pending',
] as const;
type MmKind = (typeof HOSTILE_KINDS)[number];

export class MmLoad extends LoadHarness<MmKind> {
  readonly name = 'mm';
  protected readonly kinds = HOSTILE_KINDS;
  private plain: Server | null = null;
  private keyed: Server | null = null;
  private readonly goods: Good[] = [];
  private readonly hostileClients = new Set<Client>();
  private probes = 0;
  /** SOAK_MM_OPTIONS with the handshake deadline times settings.timeFactor (servers and clients alike). */
  private readonly options: typeof SOAK_MM_OPTIONS;
  /** A probe's waits (connect, echo), seconds: 5 times settings.timeFactor, at most waitForConnect's 10. */
  private readonly probeWaitS: number;

  constructor(tally: Tally, settings: LoadSettings) {
    super(tally, settings, 0x3a3a);
    const factor = settings.timeFactor ?? 1;
    this.options = { ...SOAK_MM_OPTIONS, handshakeTimeoutMs: Math.round(SOAK_MM_OPTIONS.handshakeTimeoutMs * factor) };
    this.probeWaitS = Math.min(WAIT_FOR_CONNECT_MAX_S, 5 * factor);
  }

  async start(): Promise<void> {
    const options: ServerOptions = { ownQueue: true, queue: SOAK_MM_QUEUE, ...this.options };
    this.plain = await Server.listen('127.0.0.1', 0, undefined, options);
    this.keyed = await Server.listen('127.0.0.1', 0, KEY, options);
    this.every(POLL_MS, () => this.poll());
    const count = Math.max(1, Math.round(2 * this.settings.scale));
    for (let i = 0; i < count * 2; i++) {
      const keyed = i % 2 === 1;
      const server = keyed ? this.keyed : this.plain;
      const client = new Client('127.0.0.1', server.getPort(), keyed ? KEY : undefined, { ownQueue: true, queue: SOAK_MM_CLIENT_QUEUE, ...this.options });
      const [ok] = await client.waitForConnect(5);
      if (!ok) throw new Error(`mm: good client ${i} did not connect`);
      this.goods.push({ index: i, key: 1000 + i, client, seq: 0, pos: 0, outstanding: [], bad: false, bytesSent: 0 });
    }
    this.sending = true;
    this.every(SEND_MS, () => this.send());
  }

  private table(g: Good, s: Sent): Table {
    return { c: g.index, s: s.seq, d: patternText(g.key, s.pos, s.len), f: s.seq / 8, b: s.seq % 2 === 0, n: null, a: [1, 'x', [s.seq, { k: -s.seq }]] };
  }

  private send(): void {
    if (!this.sending) return;
    for (const g of this.goods) {
      if (g.bad || !g.client.isConnected()) continue;
      for (let i = 0; i < 2 && g.outstanding.length < MAX_OUTSTANDING; i++) {
        const r = this.rng.int(100);
        const len = r < 90 ? this.rng.range(1, 300) : r < 99 ? this.rng.range(300, 20_000) : this.rng.range(60_000, 400_000);
        const s: Sent = { seq: ++g.seq, pos: g.pos, len };
        g.pos += len;
        if (!g.client.send(this.table(g, s))) {
          this.tally.violation(`mm: good client ${g.index} send() refused`);
          g.bad = true;
          return;
        }
        g.outstanding.push(s);
        g.bytesSent += len;
      }
    }
  }

  private poll(): void {
    for (const server of [this.plain, this.keyed]) {
      if (!server) continue;
      for (const ev of server.pollEvents()) this.onServerEvent(ev);
    }
    for (const g of this.goods) for (const ev of g.client.pollEvents()) this.onClientEvent(g, ev);
    for (const c of this.hostileClients) for (const ev of c.pollEvents()) if (ev.type === EventType.ERROR) this.tally.figure(`mm: hostile client saw: ${ev.error.replace(/\d+/g, 'N').slice(0, 60)}`);
  }

  private onServerEvent(ev: MmEvent): void {
    switch (ev.type) {
      case EventType.RECEIVE:
        try {
          if (ev.object.send(ev.packet)) this.tally.figure('mm: echoes queued');
        } catch (err) {
          this.tally.figure(`mm: echo refused (${(err as Error).message.slice(0, 40)})`);
        }
        break;
      case EventType.ERROR:
        this.tally.error('mm', ev.error);
        break;
      case EventType.CLIENT_CLOSE:
        this.tally.drop('mm', ev.reason || 'closed');
        break;
      case EventType.CONNECT:
        this.tally.figure('mm: connections');
        break;
    }
  }

  private onClientEvent(g: Good, ev: MmEvent): void {
    if (ev.type === EventType.RECEIVE) {
      const s = g.outstanding.shift();
      const p = ev.packet as { s?: unknown } | null;
      if (!s) {
        this.tally.violation(`mm: good client ${g.index} got an echo it never asked for`);
      } else if (!g.bad && JSON.stringify(ev.packet) !== JSON.stringify(this.table(g, s))) {
        g.bad = true;
        this.tally.corrupt++;
        this.tally.violation(`mm: good client ${g.index} echo #${s.seq} differs (got seq ${String(p?.s)})`);
      } else this.tally.checked(s.len);
    } else if (ev.type === EventType.ERROR || ev.type === EventType.SERVER_CLOSE) {
      g.bad = true;
      this.tally.violation(`mm: good client ${g.index} ${ev.type === EventType.ERROR ? `error: ${ev.error}` : `closed: ${ev.reason}`}`);
    }
  }

  /** Connect raw and complete a plaintext handshake (the WELCOME is 43 bytes). */
  private async handshaken(port: number, from: string, read = true): Promise<RawPeer> {
    const p = await connectRaw(this.hostiles, port, 64, true, from);
    p.socket.write(hello());
    await waitFor(() => p.received >= 43 || p.isClosed(), 2000);
    if (!read) p.socket.pause();
    return p;
  }

  private async expectClosed(p: RawPeer, kind: string, ms = 4000): Promise<void> {
    await closedWithin(p, ms);
    if (!p.closedByServer() && !this.hostiles.closing) this.tally.figure(`mm: ${kind} peers not closed within ${ms / 1000} s`);
    p.socket.destroy();
  }

  protected async hostile(kind: MmKind, rng: SoakRng): Promise<void> {
    const plain = this.plain!.getPort();
    const keyed = this.keyed!.getPort();
    const from = this.hostileAddress(rng);
    switch (kind) {
      case 'garbage': {
        const p = await connectRaw(this.hostiles, rng.chance(0.5) ? plain : keyed, 0, true, from);
        const junk = rng.bytes(rng.range(1, 5000));
        if (junk[0] === 0x47) junk[0] = 0x48;
        p.socket.write(junk);
        return this.expectClosed(p, kind, this.options.handshakeTimeoutMs + 2000);
      }
      case 'oversize-frame':
      case 'zero-frame': {
        const p = await this.handshaken(plain, from);
        p.socket.write(kind === 'zero-frame' ? Buffer.alloc(4) : Buffer.of(0xff, 0xff, 0xff, 0x7f, 0x10, 1, 2, 3));
        return this.expectClosed(p, kind);
      }
      case 'bad-version': {
        const p = await connectRaw(this.hostiles, plain, 64, true, from);
        p.socket.write(hello(9));
        return this.expectClosed(p, kind);
      }
      case 'slow-reader': {
        const p = await this.handshaken(plain, from, false);
        const msgs = Array.from({ length: 20 }, () => pack({ junk: rng.bytes(30_000).toString('latin1') }) as Buffer);
        // Built once and written again and again (no 600 KB allocation per write: the soak's own
        // peers share the process whose RSS it judges).
        const burst = Buffer.concat(dataFrames(msgs));
        const until = Date.now() + 6000;
        while (!p.isClosed() && Date.now() < until) {
          if (p.socket.writableLength < 512 * 1024) p.socket.write(burst);
          await sleep(50);
        }
        return this.expectClosed(p, kind, 1000);
      }
      case 'flood': {
        const p = await this.handshaken(plain, from);
        const tiny = Buffer.alloc(20_000 * 2);
        for (let i = 0; i < tiny.length; i += 2) tiny[i + 1] = 0xc0; // prefix 00 + nil
        const f = frame(Buffer.concat([Buffer.of(0x10), tiny]));
        for (let i = 0; i < 5 && !p.isClosed(); i++) {
          p.socket.write(f);
          await sleep(20);
        }
        return this.expectClosed(p, kind);
      }
      case 'killed-mid-chunk': {
        const p = await this.handshaken(plain, from);
        const claimed = rng.range(70_000, 900_000);
        const part = Buffer.concat([chunkPrefix(claimed), Buffer.of(0xdb), rng.bytes(rng.range(100, 60_000))]);
        p.socket.write(frame(Buffer.concat([Buffer.of(0x10), part])));
        await sleep(rng.int(100));
        p.socket.destroy();
        return;
      }
      case 'bad-chunk': {
        const p = await this.handshaken(plain, from);
        p.socket.write(frame(Buffer.of(0x10, 0x80, 0x00, 0xc0))); // non-minimal varint
        return this.expectClosed(p, kind);
      }
      case 'bad-table': {
        const p = await this.handshaken(plain, from);
        const variants = [Buffer.of(0xc1), Buffer.of(0xc7, 1, 5, 0), Buffer.of(0x92, 0xc0), Buffer.alloc(100, 0x91), Buffer.of(0xd9, 50, 0x61)];
        const m = rng.pick(variants);
        p.socket.write(frame(Buffer.concat([Buffer.of(0x10), chunkPrefix(m.length), m])));
        return this.expectClosed(p, kind);
      }
      case 'oversize-message': {
        const p = await this.handshaken(plain, from);
        p.socket.write(frame(Buffer.concat([Buffer.of(0x10), chunkPrefix(SOAK_MM_OPTIONS.maxMessageBytes + 1 + rng.int(1e6)), Buffer.of(0xdb)])));
        return this.expectClosed(p, kind);
      }
      case 'silent': {
        const p = await connectRaw(this.hostiles, rng.chance(0.5) ? plain : keyed, 0, true, from);
        return this.expectClosed(p, kind, this.options.handshakeTimeoutMs + 2000);
      }
      case 'idle-after-handshake': {
        const p = await this.handshaken(plain, from);
        return this.expectClosed(p, kind, SOAK_MM_OPTIONS.keepaliveTimeoutMs + 2000);
      }
      case 'storm':
        await connectStorm(this.hostiles, rng.chance(0.5) ? plain : keyed, rng.range(10, 40), () => hello(1, rng.int(2)), from);
        return;
      case 'wrong-key':
      case 'key-one-side': {
        const c = new Client('127.0.0.1', kind === 'wrong-key' ? keyed : plain, kind === 'wrong-key' ? WRONG_KEY : KEY, { ownQueue: true, queue: SOAK_MM_CLIENT_QUEUE });
        this.hostileClients.add(c);
        const release = this.hostiles.hold(() => c.disconnect());
        try {
          const [ok] = await c.waitForConnect(3);
          if (ok) this.tally.violation(`mm: a ${kind} client connected`);
        } finally {
          c.disconnect();
          release();
          await sleep(50);
          for (const ev of c.pollEvents()) if (ev.type === EventType.ERROR) this.tally.figure(`mm: ${kind} client saw: ${ev.error.replace(/\d+/g, 'N').slice(0, 60)}`);
          this.hostileClients.delete(c);
        }
        return;
      }
      case 'bad-seal': {
        // Keyed handshake, then a frame that cannot open: "authentication failed".
        const p = await connectRaw(this.hostiles, keyed, 256, true, from);
        p.socket.write(hello(1, 1));
        await waitFor(() => p.received >= 43 || p.isClosed(), 2000);
        p.socket.write(frame(rng.bytes(rng.range(17, 300))));
        return this.expectClosed(p, kind);
      }
      case 'ws-garbage': {
        const ws = new WebSocket(`ws://127.0.0.1:${plain}/`, { perMessageDeflate: false, localAddress: from });
        const release = this.hostiles.hold(() => ws.terminate());
        const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
        ws.on('error', () => undefined);
        await Promise.race([new Promise<void>((resolve) => ws.once('open', () => resolve())), closed]);
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(Buffer.concat([hello(), rng.bytes(rng.range(1, 2000))]));
          if (rng.chance(0.3)) ws.send(rng.bytes(70_000));
        }
        const done = await Promise.race([closed.then(() => true), sleep(4000).then(() => false)]);
        if (!done && !this.hostiles.closing) this.tally.figure('mm: ws-garbage peers not closed within 4 s');
        ws.terminate();
        release();
        return;
      }
      case 'ip-fill': {
        // One IP fills every slot (issue 14 item 1): more connections than maxConnectionsPerIp,
        // each completing the plaintext handshake and sending KEEPALIVEs. The first ones as fast
        // as connectBurstPerIp allows, the rest under connectRatePerIp, so what refuses them is
        // the per-IP cap. At most the cap get in, and a good client from 127.0.0.1 is served.
        const attacker = this.lockoutAddress();
        const hello1 = hello();
        const peers: RawPeer[] = [];
        let nextKeepalive = Date.now();
        const keepalive = () => {
          if (Date.now() < nextKeepalive) return;
          nextKeepalive = Date.now() + SOAK_MM_OPTIONS.keepaliveIntervalMs;
          for (const p of peers) if (!p.isClosed() && p.received >= WELCOME_BYTES) p.socket.write(KEEPALIVE_FRAME);
        };
        const total = MAX_CONNECTIONS_PER_IP + rng.range(6, 14);
        for (let i = 0; i < total && !this.hostiles.closing; i++) {
          const p = await connectRaw(this.hostiles, plain, 0, true, attacker).catch(() => null);
          if (p) {
            p.socket.write(hello1);
            peers.push(p);
          }
          keepalive();
          if (i >= 16) await sleep(110); // about 9/s, under the per-IP rate of 10/s
        }
        await waitFor(() => {
          keepalive();
          return peers.every((p) => p.isClosed() || p.received >= WELCOME_BYTES);
        }, 2000);
        keepalive();
        await this.probe(false, kind);
        const held = peers.filter((p) => !p.isClosed() && p.received >= WELCOME_BYTES).length;
        if (held > MAX_CONNECTIONS_PER_IP) this.tally.violation(`mm: one IP held ${held} connections (maxConnectionsPerIp ${MAX_CONNECTIONS_PER_IP})`);
        this.tally.figure('mm: ip-fill connections held', held);
        this.tally.figure('mm: ip-fill connections refused at accept', peers.filter((p) => p.closedByServer() && p.received === 0).length);
        for (const p of peers) p.socket.destroy();
        return;
      }
      case 'ip-pending': {
        // One IP holds handshakes open (issue 14 item 1, keyed): HELLO, never FINISHED, on more
        // connections than maxPendingHandshakesPerIp, all within connectBurstPerIp. Before the
        // handshake deadline frees a slot at most that many get a WELCOME; a good client from
        // 127.0.0.1 is served; the server drops the rest at the deadline.
        const attacker = this.lockoutAddress();
        const hello1 = hello(1, 1);
        const started = Date.now();
        const count = MAX_PENDING_HANDSHAKES_PER_IP + rng.range(4, 12);
        const opened = await Promise.all(Array.from({ length: count }, () => connectRaw(this.hostiles, keyed, 0, true, attacker).catch(() => null)));
        const peers = opened.filter((p): p is RawPeer => p !== null);
        for (const p of peers) p.socket.write(hello1);
        await waitFor(() => peers.every((p) => p.isClosed() || p.received >= WELCOME_BYTES), 1000);
        // Judged only while no deadline can have passed (a freed slot may admit another).
        if (Date.now() - started < this.options.handshakeTimeoutMs) {
          const welcomed = peers.filter((p) => p.received >= WELCOME_BYTES).length;
          if (welcomed > MAX_PENDING_HANDSHAKES_PER_IP) this.tally.violation(`mm: one IP had ${welcomed} handshakes in progress (maxPendingHandshakesPerIp ${MAX_PENDING_HANDSHAKES_PER_IP})`);
          this.tally.figure('mm: ip-pending handshakes admitted', welcomed);
        }
        this.tally.figure('mm: ip-pending connections refused at accept', peers.filter((p) => p.closedByServer() && p.received === 0).length);
        await this.probe(true, kind);
        for (const p of peers) {
          if (p.received >= WELCOME_BYTES) await this.expectClosed(p, kind, this.options.handshakeTimeoutMs + 2000);
          else p.socket.destroy();
        }
        return;
      }
    }
  }

  /**
   * A good client from 127.0.0.1 connects while an attack runs and gets one table echoed
   * intact. A refusal or a missing echo is a violation (unless the soak is closing).
   */
  private async probe(keyed: boolean, attack: string): Promise<void> {
    const server = keyed ? this.keyed! : this.plain!;
    const c = new Client('127.0.0.1', server.getPort(), keyed ? KEY : undefined, { ownQueue: true, queue: PROBE_QUEUE, ...this.options });
    const release = this.hostiles.hold(() => c.disconnect());
    const before = server.stats();
    try {
      const [ok, took] = await c.waitForConnect(this.probeWaitS);
      if (!ok) {
        if (!this.hostiles.closing) {
          // Say why: the client's reason (refused at accept, handshake timeout...) or none (no
          // answer within the wait), with the server's refusals and pending handshakes meanwhile.
          const failed = c.pollEvents().find((ev) => ev.type === EventType.CONNECTED && !ev.result);
          const reason = failed?.type === EventType.CONNECTED ? failed.error || 'closed' : 'still connecting';
          const st = server.stats();
          const refusals = (['refusedRate', 'refusedPending', 'refusedPendingPerIp', 'refusedPerIp', 'refusedFull'] as const)
            .map((k) => `${k} +${st[k] - before[k]}`)
            .join(', ');
          this.tally.violation(`mm: a good client was refused during ${attack} (${reason}, after ${took.toFixed(1)} s; server: ${refusals}, ${st.pendingHandshakes} pending)`);
        }
        return;
      }
      const n = ++this.probes;
      const table: Table = { probe: attack, n, d: patternText(5000, n * 101, 200) };
      c.send(table);
      let echo: unknown;
      let failure = '';
      await waitFor(() => {
        for (const ev of c.pollEvents()) {
          if (ev.type === EventType.RECEIVE) echo = ev.packet;
          else if (ev.type === EventType.ERROR) failure = ev.error;
          else if (ev.type === EventType.SERVER_CLOSE) failure = ev.reason || 'closed';
        }
        return echo !== undefined || failure !== '';
      }, this.probeWaitS * 1000);
      if (echo !== undefined && JSON.stringify(echo) === JSON.stringify(table)) {
        this.tally.checked(200);
        this.tally.figure(`mm: good probes served during ${attack}`);
      } else if (echo !== undefined) {
        this.tally.corrupt++;
        this.tally.violation(`mm: a good probe's echo differs during ${attack}`);
      } else if (!this.hostiles.closing) {
        this.tally.violation(`mm: a good probe got no echo during ${attack} (${failure || 'timeout'})`);
      }
    } finally {
      c.disconnect();
      release();
      await sleep(20);
      c.pollEvents();
    }
  }

  async drain(timeoutMs: number): Promise<void> {
    await waitFor(() => this.goods.every((g) => g.bad || g.outstanding.length === 0), timeoutMs);
    for (const g of this.goods) {
      this.tally.reliableBytesSent += g.bytesSent;
      const lost = g.outstanding.reduce((a, s) => a + s.len, 0);
      this.tally.goodBytesLost += lost;
      if (g.outstanding.length > 0) this.tally.violation(`mm: good client ${g.index} never got ${g.outstanding.length} echoes (${lost} bytes)`);
    }
  }

  protected async shutdown(): Promise<void> {
    for (const g of this.goods) g.client.disconnect();
    await sleep(100);
    this.poll();
    this.clearTimers();
    for (const server of [this.plain, this.keyed]) if (server && server.droppedEvents() > 0) this.tally.figure('mm: server events dropped by a full queue', server.droppedEvents());
    for (const server of [this.plain, this.keyed]) {
      if (!server) continue;
      // Refused at accept, by budget (issue 14): hostile addresses only, as good clients and probes would report a violation.
      const st = server.stats();
      const refused: [string, number][] = [
        ['refused at accept: connect rate per IP', st.refusedRate],
        ['refused at accept: pending handshakes', st.refusedPending],
        ['refused at accept: pending handshakes per IP', st.refusedPendingPerIp],
        ['refused at accept: connections per IP', st.refusedPerIp],
        ['refused: server full', st.refusedFull],
      ];
      for (const [reason, n] of refused) if (n > 0) this.tally.drop('mm', reason, n);
    }
    await this.plain?.close();
    await this.keyed?.close();
    for (const g of this.goods) g.client.pollEvents();
  }

  progress(): string {
    const echoes = this.goods.reduce((a, g) => a + g.seq - g.outstanding.length, 0);
    return `mm ${echoes} echoes, ${(this.plain?.connectionCount() ?? 0) + (this.keyed?.connectionCount() ?? 0)} conns, ${this.hostiles.size} hostile`;
  }
}
