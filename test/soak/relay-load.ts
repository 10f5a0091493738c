/**
 * Relay load: good owner/user pairs on their own joints streaming both ways (every byte checked
 * against the pattern, in order), and hostile peers of joint.md §16's kinds and more, among them
 * a create storm from one address (issue 14) while a new good owner and user from 127.0.0.1 must
 * still get a joint and their bytes through.
 */
import WebSocket from 'ws';
import { Relay, type Logger } from '../../src/relay/index.js';
import { nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';
import { COMMAND_BURST_COUNT } from '../../src/relay/limits.js';
import { sleep, waitFor, type LoadSettings } from './component.js';
import { command, connectPair, JointPeer, RelayStreamReader, sizeHeader } from './joint-peer.js';
import { LoadHarness } from './load-harness.js';
import { matchesPattern, patternSlice, type SoakRng } from './pattern.js';
import type { Tally } from './tally.js';
import { closedWithin, connectRaw, connectStorm, writeAll, type RawPeer } from './tcp-peer.js';

/** Largest data bytes per frame a sender may use (joint.md §2.5). */
const MAX_DATA = 32765;
/** Bytes per second each good stream sends at scale 1. */
const GOOD_RATE = 128 * 1024;
/** A good sender stops writing while its socket holds this much (backpressure, bytes). */
const GOOD_BACKLOG = 256 * 1024;
const TICK_MS = 20;

/** Relay options of the soak: tighter than the defaults so the hostile peers hit them quickly. */
export const SOAK_RELAY_OPTIONS = {
  loginTimeoutMs: 2000,
  keepaliveMs: 2000,
  maxConnectionsPerIp: 512,
  maxOutboundBytes: 1024 * 1024,
  inboundBytesPerSec: 4 * 1024 * 1024,
  inboundUnitsPerSec: 20_000,
  closeGraceMs: 500,
  // A quarter of the default 1000, so a create storm from one address (joint-spam: 2-4
  // connections of up to 200 creates) runs into it; good pairs and probes own one joint each.
  maxJointsPerIp: 256,
};

/** Bytes a probe user sends its owner (one frame). */
const PROBE_BYTES = 4000;

interface Stream {
  key: number;
  sent: number;
  received: number;
  bad: boolean;
}

interface Pair {
  index: number;
  id: string;
  owner: JointPeer;
  user: JointPeer;
  jOwn: number;
  jIn: number;
  userNr: number;
  up: Stream;
  down: Stream;
}

const HOSTILE_KINDS = [
  'garbage',
  'flood',
  'ws-oversize',
  'ws-garbage',
  'slow-reader',
  'silent',
  'half-close',
  'storm',
  'killed-mid-frame',
  'protocol',
  'idle-partial',
  'joint-spam',
  'owner-flood',
] as const;
type RelayKind = (typeof HOSTILE_KINDS)[number];
/** The kinds that need WebSocket on the relay (left out on a native engine built without its codec). */
const WEBSOCKET_KINDS: readonly RelayKind[] = ['ws-oversize', 'ws-garbage'];

export class RelayLoad extends LoadHarness<RelayKind> {
  readonly name = 'relay';
  protected kinds: readonly RelayKind[] = HOSTILE_KINDS;
  private relay: Relay | null = null;
  /** Why the relay runs another engine than `settings.relayEngine` (its debug line). */
  private engineWhy: string | undefined;
  private readonly pairs: Pair[] = [];
  private probes = 0;

  constructor(tally: Tally, settings: LoadSettings) {
    super(tally, settings, 0x4e1a);
  }

  private logger(): Logger {
    const t = this.tally;
    return {
      error: (msg, f) => t.error('relay', `log error: ${msg} ${String(f?.detail ?? '')}`),
      warn: (msg, f) => t.error('relay', `log warn: ${msg} ${String(f?.detail ?? '')}`),
      info: (msg, f) => {
        if (msg === 'connection dropped') t.error('relay', `${String(f?.reason)}${f?.detail ? `: ${String(f.detail)}` : ''}`);
      },
      debug: (msg, f) => {
        if (f?.why !== undefined) this.engineWhy = `${msg}: ${String(f.why)}`;
      },
    };
  }

  async start(): Promise<void> {
    const asked = this.settings.relayEngine;
    let websocket = true;
    if (asked === 'native') {
      const support = nativeEngineSupport();
      if (typeof support === 'string') throw new Error(`engine 'native' cannot run: ${support}`);
      // Older addons were built without the codec; once it is always in, the field may go.
      if ((support as { webSocket?: boolean }).webSocket === false) {
        // The relay would run the Node engine to serve WebSocket: soak what the native one has.
        websocket = false;
        this.kinds = HOSTILE_KINDS.filter((k) => !WEBSOCKET_KINDS.includes(k));
        this.tally.note('relay_left_out', `WebSocket (the addon's native engine has no codec): ${WEBSOCKET_KINDS.join(', ')}`);
      }
    }
    const relay = await Relay.listen({ host: '127.0.0.1', port: 0, logger: this.logger(), ...SOAK_RELAY_OPTIONS, engine: asked, websocket });
    if (asked !== undefined && relay.engine !== asked) {
      await relay.close();
      throw new Error(`engine '${asked}' asked, '${relay.engine}' runs (${this.engineWhy ?? 'no reason logged'})`);
    }
    this.relay = relay;
    this.tally.note('relay_engine', relay.engine);
    const count = Math.max(1, Math.round(3 * this.settings.scale));
    for (let i = 0; i < count; i++) this.pairs.push(await this.makePair(i));
    this.sending = true;
    this.every(TICK_MS, () => this.tick());
  }

  private async makePair(index: number): Promise<Pair> {
    const port = this.relay!.port;
    const id = `soak-good-${index}`;
    const { owner, user, jOwn, jIn, userNr } = await connectPair(port, id, 5000, 'relay: no userConnect for a good user');
    const pair: Pair = {
      index, id, owner, user, jOwn, jIn, userNr,
      up: { key: index * 2 + 1, sent: 0, received: 0, bad: false },
      down: { key: index * 2 + 2, sent: 0, received: 0, bad: false },
    };
    owner.onEvent = (ev, args) => {
      if (ev === 1 && args[1] === pair.userNr) this.tally.violation(`relay: good user of ${id} reported gone (reason ${args[2]})`);
    };
    user.onEvent = (ev) => {
      if (ev === 2) this.tally.violation(`relay: good joint ${id} reported gone to its user`);
    };
    owner.onFrame = (body) => {
      if (body[0] !== jOwn + 128) return this.tally.violation(`relay: frame for joint ${body[0]! - 128} reached the owner of ${jOwn}`);
      if (body[1] !== pair.userNr) {
        this.tally.figure('relay: hostile user bytes seen by good owners', body.length - 2);
        return;
      }
      this.check(pair.up, body.subarray(2));
    };
    user.onFrame = (body) => {
      if (body[0] !== jIn) return this.tally.violation(`relay: frame for jIn ${body[0]} reached a user of jIn ${jIn}`);
      this.check(pair.down, body.subarray(1));
    };
    return pair;
  }

  private check(s: Stream, data: Buffer): void {
    if (s.bad) return;
    if (!matchesPattern(s.key, s.received, data)) {
      s.bad = true;
      this.tally.corrupt++;
      this.tally.violation(`relay: stream ${s.key} corrupt at byte ${s.received}`);
      return;
    }
    s.received += data.length;
    this.tally.checked(data.length);
  }

  private frameSize(): number {
    const r = this.rng.int(100);
    if (r < 70) return this.rng.range(1, 200);
    if (r < 95) return this.rng.range(200, 4000);
    return this.rng.range(4000, MAX_DATA);
  }

  private tick(): void {
    if (!this.sending) return;
    const budget = Math.ceil((GOOD_RATE * this.settings.scale * TICK_MS) / 1000);
    for (const p of this.pairs) {
      if (p.owner.closed || p.user.closed) continue;
      // user → owner: size, jIn, data (joint.md §2.3)
      if (p.user.socket.writableLength < GOOD_BACKLOG) {
        const parts: Buffer[] = [];
        for (let left = budget; left > 0; ) {
          const n = Math.min(left, this.frameSize());
          parts.push(sizeHeader(1 + n), Buffer.of(p.jIn), patternSlice(p.up.key, p.up.sent, n));
          p.up.sent += n;
          left -= n;
        }
        p.user.socket.write(Buffer.concat(parts));
      }
      // owner → user: unicast, broadcast to all, or broadcast all-but-a-stranger (joint.md §5)
      if (p.owner.socket.writableLength < GOOD_BACKLOG) {
        const parts: Buffer[] = [];
        for (let left = budget; left > 0; ) {
          const n = Math.min(left, this.frameSize());
          const data = patternSlice(p.down.key, p.down.sent, n);
          const mode = this.rng.int(10);
          if (mode < 7) parts.push(sizeHeader(2 + n), Buffer.of(p.jOwn + 128, p.userNr), data);
          else if (mode < 9) parts.push(Buffer.of(1, 1), sizeHeader(1 + n), Buffer.of(p.jOwn + 128), data);
          else parts.push(Buffer.of(1, 0), sizeHeader(2 + n), Buffer.of(p.jOwn + 128, (p.userNr + 1 + this.rng.int(254)) & 0xff), data);
          p.down.sent += n;
          left -= n;
        }
        p.owner.socket.write(Buffer.concat(parts));
      }
    }
  }

  protected async hostile(kind: RelayKind, rng: SoakRng): Promise<void> {
    const port = this.relay!.port;
    const set = this.hostiles;
    const from = this.hostileAddress(rng);
    switch (kind) {
      case 'garbage': {
        const p = await connectRaw(set, port, 0, true, from);
        for (let i = rng.range(1, 8); i > 0 && !p.isClosed(); i--) {
          const junk = rng.bytes(rng.range(1, 3000));
          if (junk[0] === 0x47) junk[0] = 0x46; // not a WebSocket upgrade: stay on the raw parser
          p.socket.write(junk);
          await sleep(rng.int(50));
        }
        if (!(await closedWithin(p, 3000))) this.tally.figure('relay: garbage peers still open after 3 s (unroutable frames are dropped silently, joint.md §2.3)');
        p.socket.destroy();
        return;
      }
      case 'flood': {
        const p = await connectRaw(set, port, 0, true, from);
        p.socket.write(command(0, 1, Buffer.from(`flood-${rng.int(1e9)}`)));
        const frame = Buffer.concat([sizeHeader(32767), Buffer.of(128, 0), rng.bytes(32765)]);
        const until = Date.now() + 4000;
        while (!p.isClosed() && Date.now() < until) {
          // The same frame four times, not a fresh 128 KiB concat every 2 ms: the soak's own peers
          // share the process whose RSS it judges, and that churn alone made glibc's heap creep.
          if (p.socket.writableLength < 1 << 20) for (let i = 0; i < 4; i++) p.socket.write(frame);
          await sleep(2);
        }
        // The relay either throttles (stops reading: inboundPolicy 'throttle') or drops the flood.
        if (!p.isClosed()) this.tally.figure('relay: floods still connected after 4 s (throttled, not dropped)');
        p.socket.destroy();
        return;
      }
      case 'ws-oversize':
      case 'ws-garbage': {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, localAddress: from });
        const release = set.hold(() => ws.terminate());
        const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
        ws.on('error', () => undefined);
        await new Promise<void>((resolve) => {
          ws.once('open', () => resolve());
          ws.once('close', () => resolve());
        });
        if (ws.readyState === WebSocket.OPEN) {
          if (kind === 'ws-oversize') ws.send(rng.bytes(70_000 + rng.int(100_000)));
          else for (let i = rng.range(1, 20); i > 0; i--) ws.send(rng.bytes(rng.range(1, 500)));
        }
        const code = await Promise.race([closed, sleep(3000).then(() => -1)]);
        if (code === -1) this.tally.figure(`relay: ${kind} peers still open after 3 s${kind === 'ws-garbage' ? ' (unroutable frames are dropped silently)' : ''}`);
        ws.terminate();
        release();
        return;
      }
      case 'slow-reader': {
        // A pump owner sends unicast to a user that never reads: the relay must cut the user.
        const pump = await JointPeer.connect(port, from);
        const release = set.hold(() => pump.destroy());
        const id = `slow-${rng.int(1e9)}`;
        try {
          const jOwn = await pump.request(0, id);
          let userNr = -1;
          let gone = false;
          pump.onEvent = (ev, args) => {
            if (ev === 0) userNr = args[1]!;
            if (ev === 1) gone = true;
          };
          const slow = await connectRaw(set, port, 0, false, from);
          slow.socket.write(command(1, 1, Buffer.from(id)));
          await waitFor(() => userNr >= 0, 3000);
          const frame = Buffer.concat([sizeHeader(32767), Buffer.of(jOwn + 128, userNr), rng.bytes(32765)]);
          const until = Date.now() + 8000;
          while (!gone && !pump.closed && Date.now() < until) {
            // Paced under the inbound rate limit: the relay must drop the reader, not the pump.
            if (pump.socket.writableLength < 256 * 1024) pump.socket.write(frame);
            await sleep(12);
          }
          if (gone) this.tally.figure('relay: slow readers cut');
          else if (pump.closed) this.tally.figure('relay: slow-reader pumps dropped before the reader');
          else this.tally.figure('relay: slow readers not cut within 8 s');
          slow.socket.destroy();
        } finally {
          pump.destroy();
          release();
        }
        return;
      }
      case 'silent': {
        const p = await connectRaw(set, port, 0, true, from);
        if (!(await closedWithin(p, SOAK_RELAY_OPTIONS.loginTimeoutMs + 3000))) this.tally.figure('relay: silent peers not closed by the login timeout');
        p.socket.destroy();
        return;
      }
      case 'half-close': {
        const p = await connectRaw(set, port, 0, true, from);
        p.socket.end(Buffer.of(0, 0, 5, 32, 0x61, 0x62)); // a create cut short, then FIN
        if (!(await closedWithin(p, 3000))) this.tally.figure('relay: half-closed peers still open after 3 s');
        p.socket.destroy();
        return;
      }
      case 'storm': {
        await connectStorm(set, port, rng.range(10, 40), () => command(0, 1, Buffer.from(`storm-${rng.int(1e9)}`)), from);
        return;
      }
      case 'killed-mid-frame': {
        // Enter a good joint, start a long frame, die in the middle of it.
        const pair = this.pairs[rng.int(this.pairs.length)]!;
        const p = await connectRaw(set, port, 0, true, from);
        p.socket.write(command(1, 1, Buffer.from(pair.id)));
        await sleep(rng.range(20, 200));
        const size = rng.range(1000, 32767);
        p.socket.write(Buffer.concat([sizeHeader(size), Buffer.of(0), rng.bytes(rng.int(size - 1))]));
        await sleep(rng.int(50));
        p.socket.destroy();
        return;
      }
      case 'protocol': {
        const p = await connectRaw(set, port, 0, true, from);
        const variants = [
          Buffer.of(1, 1, 0x85, 0x00, 0x80, ...rng.bytes(0x4ff)), // broadcast on a joint it does not own
          Buffer.of(0, 9, 0, 0), // unknown command
          Buffer.of(0, 2, 0, 3, 1, 2, 3), // leave with len 3
          Buffer.of(0x80, 0x01, 0x55), // 2-byte size below 2
          Buffer.of(1, 7, 0x03, 0x80, 0, 1), // broadcast mode 7
          Buffer.of(1, 1, 0x03, 0x80, 0, 1), // broadcast with a 1-byte size header
        ];
        p.socket.write(rng.pick(variants));
        if (!(await closedWithin(p, 3000))) this.tally.figure('relay: protocol-error peers still open after 3 s');
        p.socket.destroy();
        return;
      }
      case 'idle-partial': {
        // A unit started and never finished, then silence: only an inbound idle limit would end it.
        const p = await connectRaw(set, port, 0, true, from);
        p.socket.write(Buffer.of(0x81, 0x00, 0x00, 1, 2, 3));
        await closedWithin(p, 6000);
        if (p.closedByServer()) this.tally.figure('relay: idle partial-unit peers closed by the relay');
        else if (!this.hostiles.closing) this.tally.figure('relay: idle partial-unit peers left open after 6 s');
        p.socket.destroy();
        return;
      }
      case 'owner-flood': {
        // Enter a good joint and send 32 KiB frames to its owner as fast as TCP allows (issue 13):
        // the relay must slow this user, never drop the owner (the pair's checks would see it).
        const pair = this.pairs[rng.int(this.pairs.length)]!;
        const p = await connectRaw(set, port, 0, true, from);
        p.socket.write(command(1, 1, Buffer.from(pair.id)));
        const frame = Buffer.concat([sizeHeader(32766), Buffer.of(0), rng.bytes(32765)]);
        const until = Date.now() + 3000;
        while (!p.isClosed() && Date.now() < until) {
          // The same frame again and again (no allocation per write: the soak judges this process's RSS).
          if (p.socket.writableLength < 1 << 20) for (let i = 0; i < 8; i++) p.socket.write(frame);
          await sleep(2);
        }
        if (p.isClosed()) this.tally.figure('relay: owner floods dropped (not slowed)');
        p.socket.destroy();
        return;
      }
      case 'joint-spam': {
        // A create storm from one address (issue 14 item 5): 2-4 connections each send 100-200
        // creates (and some enters) in one write, past the 128 own joints of a connection and
        // together past maxJointsPerIp; sometimes one sends more commands than commandBurst. The
        // relay grants at most maxJointsPerIp joints to the address, and a good owner and user
        // from 127.0.0.1 are served meanwhile.
        const spammer = this.lockoutAddress();
        const base = rng.int(1e9);
        const peers: RawPeer[] = [];
        let created = 0;
        let refused = 0;
        let replies = 0;
        let sent = 0;
        const conns = rng.range(2, 4);
        for (let c = 0; c < conns; c++) {
          const p = await connectRaw(set, port, 0, true, spammer);
          peers.push(p);
          // Replies `00 03 nr status value`: creates carry nr 1..199, enters 200..249.
          const reader = new RelayStreamReader(
            (payload) => {
              const nr = payload[0]!;
              if (nr === 0) return;
              replies++;
              if (nr < 200) {
                if (payload[1] === 0) created++;
                else refused++;
              }
            },
            () => undefined,
          );
          p.socket.on('data', (d: Buffer) => reader.feed(d));
          const pastBurst = c === conns - 1 && rng.chance(0.3);
          const count = pastBurst ? COMMAND_BURST_COUNT + 100 : rng.range(100, 200);
          const parts: Buffer[] = [];
          for (let i = 0; i < count; i++) {
            const enter = i % 7 === 6;
            parts.push(command(enter ? 1 : 0, enter ? 200 + (i % 50) : 1 + (i % 199), Buffer.from(`spam-${base}-${c}-${i % 150}`)));
          }
          await writeAll(p.socket, Buffer.concat(parts));
          sent += count;
        }
        await waitFor(() => replies >= sent || peers.every((p) => p.isClosed()), 3000);
        await this.probe('joint-spam');
        if (created > SOAK_RELAY_OPTIONS.maxJointsPerIp) this.tally.violation(`relay: one address was granted ${created} joints (maxJointsPerIp ${SOAK_RELAY_OPTIONS.maxJointsPerIp})`);
        this.tally.figure('relay: joint-spam creates granted', created);
        this.tally.figure('relay: joint-spam creates refused (joint caps)', refused);
        for (const p of peers) {
          if (p.closedByServer()) this.tally.figure('relay: joint-spam connections dropped past the command budget');
          p.socket.destroy();
        }
        return;
      }
    }
  }

  /**
   * A good owner and user from 127.0.0.1 on a fresh joint while an attack runs: create, enter,
   * and PROBE_BYTES from user to owner, checked byte for byte. A refusal or a lost byte is a
   * violation (unless the soak is closing).
   */
  private async probe(attack: string): Promise<void> {
    const port = this.relay!.port;
    const key = 9000 + (this.probes++ % 1000);
    const id = `probe-${attack}-${this.probes}`;
    const peers: JointPeer[] = [];
    const release = this.hostiles.hold(() => peers.forEach((p) => p.destroy()));
    try {
      const owner = await JointPeer.connect(port);
      peers.push(owner);
      await owner.request(0, id);
      let received = 0;
      let bad = false;
      owner.onFrame = (body) => {
        const data = body.subarray(2);
        if (!matchesPattern(key, received, data)) bad = true;
        received += data.length;
      };
      const user = await JointPeer.connect(port);
      peers.push(user);
      const jIn = await user.request(1, id);
      user.socket.write(Buffer.concat([sizeHeader(1 + PROBE_BYTES), Buffer.of(jIn), patternSlice(key, 0, PROBE_BYTES)]));
      const done = await waitFor(() => bad || received >= PROBE_BYTES, 5000);
      if (bad) {
        this.tally.corrupt++;
        this.tally.violation(`relay: a good probe's bytes arrived changed during ${attack}`);
      } else if (!done) {
        if (!this.hostiles.closing) this.tally.violation(`relay: a good probe got ${received} of ${PROBE_BYTES} bytes within 5 s during ${attack}`);
      } else {
        this.tally.checked(PROBE_BYTES);
        this.tally.figure(`relay: good probes served during ${attack}`);
      }
    } catch (err) {
      if (!this.hostiles.closing) this.tally.violation(`relay: a good client was refused during ${attack}: ${(err as Error).message}`);
    } finally {
      for (const p of peers) p.destroy();
      release();
    }
  }

  async drain(timeoutMs: number): Promise<void> {
    const done = () => this.pairs.every((p) => p.up.bad || p.down.bad || (p.up.received === p.up.sent && p.down.received === p.down.sent));
    await waitFor(done, timeoutMs);
    for (const p of this.pairs) {
      for (const s of [p.up, p.down]) {
        this.tally.reliableBytesSent += s.sent;
        this.tally.goodBytesLost += s.sent - s.received;
        if (s.sent !== s.received) this.tally.violation(`relay: stream ${s.key} lost ${s.sent - s.received} of ${s.sent} bytes`);
      }
      for (const peer of [p.owner, p.user]) {
        if (peer.failed) this.tally.violation(`relay: good peer desynced: ${peer.failed}`);
        if (peer.closed) this.tally.violation(`relay: good peer of ${p.id} was disconnected (${peer.closeError ?? 'closed'})`);
      }
    }
  }

  protected async shutdown(): Promise<void> {
    for (const p of this.pairs) {
      p.owner.destroy();
      p.user.destroy();
    }
    if (this.relay) {
      const s = this.relay.stats();
      for (const [reason, n] of Object.entries(s.disconnects)) if (n > 0) this.tally.drop('relay', reason, n);
      if (s.refusedPerIp > 0) this.tally.drop('relay', 'refused: per-IP cap', s.refusedPerIp);
      if (s.refusedTotal > 0) this.tally.drop('relay', 'refused: connection cap', s.refusedTotal);
      if (s.jointsRefused > 0) this.tally.figure('relay: creates refused (maxJoints, maxJointsPerIp)', s.jointsRefused);
      this.tally.figure('relay: connections accepted', s.accepted);
      this.tally.figure('relay: bytes in', s.bytesIn);
      this.tally.figure('relay: bytes out', s.bytesOut);
      this.tally.figure('relay: unroutable frame pieces dropped', s.drops);
      const throttled = (s as unknown as { throttled?: number }).throttled;
      if (typeof throttled === 'number') this.tally.figure('relay: inbound throttles (rate limit)', throttled);
      await this.relay.close();
    }
  }

  progress(): string {
    const bytes = this.pairs.reduce((a, p) => a + p.up.received + p.down.received, 0);
    const s = this.relay?.stats();
    return `relay ${(bytes / 1e6).toFixed(1)} MB checked, ${s?.connections ?? 0} conns, ${this.hostiles.size} hostile`;
  }
}
