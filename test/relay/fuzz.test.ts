/**
 * Hostile input (issue 4): several connections throw random and mutated joint streams at the
 * relay, over TCP and WebSocket, while a well-behaved owner and user exchange data whose every
 * byte is checked. The relay must not die, and the good pair must not lose, gain or reorder a byte.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { ErrorCode, JOINT_UNIT_STRIDE, JointDirection, JointParserJs, JointUnitKind, UnitFlag } from '../../src/core/index.js';
import { Relay, silentLogger } from '../../src/relay/index.js';
import { Prng } from '../helpers/prng.js';

const DURATION_MS = 3000;
const HOSTILE_TCP = 5;
const HOSTILE_WS = 2;

let relay: Relay | undefined;
const sockets: { destroy(): void }[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await relay?.close();
  relay = undefined;
});

/** Checks a relay → client stream: data on `route` must equal `expected`, in order. */
class StreamChecker {
  readonly parser = new JointParserJs({ direction: JointDirection.ToClient });
  matched = 0;
  mismatch = -1;
  parseError: number = ErrorCode.Ok;
  controls: string[] = [];
  constructor(
    private readonly expected: Buffer,
    private readonly a: number,
    private readonly b: number,
  ) {}

  feed(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length && this.parseError === ErrorCode.Ok) {
      const n = this.parser.feed(bytes, offset, bytes.length - offset);
      const u = this.parser.units;
      for (let i = 0; i < n * JOINT_UNIT_STRIDE; i += JOINT_UNIT_STRIDE) {
        if (u[i] === JointUnitKind.Control) {
          const src = u[i + 1]! & UnitFlag.InCarry ? this.parser.carry() : bytes;
          const payload = Buffer.from(src.subarray(u[i + 4]!, u[i + 4]! + u[i + 5]!));
          if (this.controls.length < 10000) this.controls.push(Buffer.concat([Buffer.from([0, payload.length]), payload]).toString('hex').replace(/(..)(?!$)/g, '$1 '));
          continue;
        }
        if (u[i + 2] !== this.a || u[i + 3] !== this.b) continue; // data of another route: not ours to check
        const off = u[i + 4]!;
        const len = u[i + 5]!;
        for (let k = 0; k < len; k++) {
          if (this.mismatch < 0 && bytes[off + k] !== this.expected[this.matched]) this.mismatch = this.matched;
          this.matched++;
        }
      }
      this.parseError = this.parser.error;
      if (this.parser.consumed === 0) break;
      offset += this.parser.consumed;
    }
  }
}

function frame(route: number[], data: Buffer): Buffer {
  const size = route.length + data.length;
  const head = size < 128 ? [size] : [(size >> 8) + 0x80, size & 0xff];
  return Buffer.concat([Buffer.from([...head, ...route]), data]);
}

/** A hostile stream: random bytes, or a plausible unit sequence mutated. */
function hostileBytes(rand: Prng): Buffer {
  const r = (n: number) => rand.int(n);
  const kind = r(4);
  if (kind === 0) return Buffer.from(Array.from({ length: 1 + r(600) }, () => r(256)));
  const parts: Buffer[] = [];
  const ids = ['good', 'x', 'y', '', 'zz'];
  for (let i = 0, n = 1 + r(12); i < n; i++) {
    const what = r(9);
    const id = Buffer.from(ids[r(ids.length)]!);
    if (what === 0) parts.push(Buffer.concat([Buffer.from([0, 0, 1 + r(255), id.length]), id]));
    else if (what === 1) parts.push(Buffer.concat([Buffer.from([0, 1, 1 + r(255), id.length]), id]));
    else if (what === 2) parts.push(frame([r(4)], Buffer.alloc(1 + r(300), r(256))));
    else if (what === 3) parts.push(frame([0x80 + r(3), r(4)], Buffer.alloc(1 + r(300), r(256))));
    else if (what === 4) parts.push(Buffer.concat([Buffer.from([1, r(3)]), frame([0x80 + r(2), r(3)], Buffer.alloc(1 + r(100), 9))]));
    else if (what === 5) parts.push(Buffer.from([0, 2 + r(3), 0, r(3), r(3), r(3)]));
    else if (what === 6) parts.push(frame([r(2)], Buffer.alloc(32765 + r(2), 1)));
    else if (what === 7) parts.push(Buffer.from([0, 4, r(3), 2, r(2), r(3)]));
    else parts.push(Buffer.from([r(256), r(256)]));
  }
  const bytes = Buffer.concat(parts);
  if (kind >= 2) for (let m = 0, n = r(4); m < n && bytes.length > 0; m++) bytes[r(bytes.length)] = r(256);
  return kind === 3 ? bytes.subarray(0, r(bytes.length + 1)) : bytes;
}

function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    sockets.push(s);
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** A well-behaved peer over TCP or WebSocket (its writes cut into random WS messages). */
interface GoodPeer {
  write(bytes: Buffer): void;
  /** The next bytes received (the reply), then every later chunk goes to `onData`. */
  firstReply(): Promise<Buffer>;
  onData(cb: (d: Buffer) => void): void;
  onClose(cb: () => void): void;
}

async function goodPeer(port: number, ws: boolean, rand: Prng): Promise<GoodPeer> {
  if (!ws) {
    const s = await tcp(port);
    return {
      write: (b) => s.write(b),
      firstReply: () => new Promise((resolve) => s.once('data', (d: Buffer) => resolve(d))),
      onData: (cb) => s.on('data', cb),
      onClose: (cb) => s.on('close', cb),
    };
  }
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
  sockets.push({ destroy: () => socket.terminate() });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    write: (b) => {
      for (let at = 0; at < b.length; ) {
        const n = 1 + rand.int(4096);
        socket.send(b.subarray(at, at + n));
        at += n;
      }
    },
    firstReply: () => new Promise((resolve) => socket.once('message', (d: Buffer) => resolve(d))),
    onData: (cb) => socket.on('message', cb),
    onClose: (cb) => socket.on('close', cb),
  };
}

describe('relay under hostile input', () => {
  const seed = Number(process.env.GAMEWIRE_FUZZ_SEED ?? 0x5eed);
  it.each([
    { ws: false, kick: false, durationMs: DURATION_MS },
    { ws: true, kick: true, durationMs: DURATION_MS / 2 },
  ])(`keeps a good owner/user pair byte-exact (websocket $ws, kick $kick, seed ${seed})`, async ({ ws, kick, durationMs }) => {
    relay = await Relay.listen({ logger: silentLogger, maxConnectionsPerIp: 0, loginTimeoutMs: 500, kick });
    const port = relay.port;
    const rand = new Prng(seed);
    const cut = new Prng(seed + 7);

    const owner = await goodPeer(port, ws, cut);
    const ownerReply = owner.firstReply();
    owner.write(Buffer.from('00000104676f6f64', 'hex')); // create "good"
    expect((await ownerReply).toString('hex')).toBe('0003010000');
    const bytes = ws ? 300_000 : 600_000;
    const toOwner = Buffer.from(Array.from({ length: bytes }, () => rand.int(256)));
    const toUser = Buffer.from(Array.from({ length: bytes }, () => rand.int(256)));
    const ownerCheck = new StreamChecker(toOwner, 0x80, 0);
    const userCheck = new StreamChecker(toUser, 0, -1);
    owner.onData((d: Buffer) => ownerCheck.feed(d));
    const user = await goodPeer(port, ws, cut);
    const userReply = user.firstReply();
    user.write(Buffer.from('000101' + '04676f6f64', 'hex'));
    expect((await userReply).toString('hex')).toBe('0003010000');
    user.onData((d: Buffer) => userCheck.feed(d));
    await new Promise((r) => setTimeout(r, 20));
    expect(ownerCheck.controls[0]).toBe('00 04 00 00 00 00');
    let goodClosed = false;
    owner.onClose(() => (goodClosed = true));
    user.onClose(() => (goodClosed = true));

    // Hostile clients: each connects, sends a few hostile streams in random pieces, and starts over when dropped.
    const deadline = Date.now() + durationMs;
    let hostileStreams = 0;
    const hostileTcp = async (n: number) => {
      const r = new Prng(seed + n);
      while (Date.now() < deadline) {
        const s = await tcp(port);
        s.on('error', () => {});
        s.on('data', () => {});
        let closed = false;
        s.on('close', () => (closed = true));
        for (let k = 0; k < 5 && !closed && Date.now() < deadline; k++) {
          const bytes = hostileBytes(r);
          hostileStreams++;
          for (let at = 0; at < bytes.length && !closed; ) {
            const piece = 1 + r.int(200);
            s.write(bytes.subarray(at, at + piece));
            at += piece;
            if (r.chance(0.3)) await new Promise((res) => setTimeout(res, 1));
          }
          await new Promise((res) => setTimeout(res, 2));
        }
        s.destroy();
      }
    };
    const hostileWs = async (n: number) => {
      const r = new Prng(seed + 100 + n);
      while (Date.now() < deadline) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
        sockets.push({ destroy: () => ws.terminate() });
        ws.on('error', () => {});
        const opened = await new Promise<boolean>((res) => {
          ws.once('open', () => res(true));
          ws.once('close', () => res(false));
        });
        if (!opened) continue;
        for (let k = 0; k < 5 && ws.readyState === WebSocket.OPEN && Date.now() < deadline; k++) {
          const bytes = hostileBytes(r);
          hostileStreams++;
          for (let at = 0; at < bytes.length && ws.readyState === WebSocket.OPEN; ) {
            const piece = 1 + r.int(64);
            if (r.chance(0.1)) ws.ping(bytes.subarray(at, at + 8));
            ws.send(bytes.subarray(at, at + piece), { binary: r.chance(0.8) });
            at += piece;
          }
          await new Promise((res) => setTimeout(res, 2));
        }
        ws.terminate();
      }
    };

    // The good pair: random-size frames in random pieces; the owner mixes unicast and broadcast.
    const good = async () => {
      let sentToOwner = 0;
      let sentToUser = 0;
      const r = new Prng(seed + 999);
      while (sentToOwner < toOwner.length || sentToUser < toUser.length) {
        if (sentToOwner < toOwner.length) {
          const n = Math.min(toOwner.length - sentToOwner, 1 + Math.floor(r.next() * (r.chance(0.05) ? 32765 : 1500)));
          user.write(frame([0], toOwner.subarray(sentToOwner, sentToOwner + n)));
          sentToOwner += n;
        }
        if (sentToUser < toUser.length) {
          const n = Math.min(toUser.length - sentToUser, 1 + Math.floor(r.next() * (r.chance(0.05) ? 32765 : 1500)));
          const data = toUser.subarray(sentToUser, sentToUser + n);
          const mode = r.next();
          if (mode < 0.4) owner.write(frame([0x80, 0], data));
          else if (mode < 0.7) owner.write(Buffer.concat([Buffer.from([1, 1]), frame([0x80], data.subarray(0, Math.min(n, 32765)))]));
          else owner.write(Buffer.concat([Buffer.from([1, 0]), frame([0x80, 1 + r.int(5)], data)]));
          sentToUser += mode >= 0.4 && mode < 0.7 ? Math.min(n, 32765) : n;
        }
        await new Promise((res) => setTimeout(res, 4));
      }
    };

    await Promise.all([
      good(),
      ...Array.from({ length: HOSTILE_TCP }, (_, i) => hostileTcp(i)),
      ...Array.from({ length: HOSTILE_WS }, (_, i) => hostileWs(i)),
    ]);
    const settle = Date.now() + 5000;
    while ((ownerCheck.matched < toOwner.length || userCheck.matched < toUser.length) && Date.now() < settle) {
      await new Promise((res) => setTimeout(res, 20));
    }
    await new Promise((res) => setTimeout(res, 100));

    expect(hostileStreams).toBeGreaterThan(50);
    expect(goodClosed).toBe(false);
    expect(ownerCheck.parseError).toBe(ErrorCode.Ok);
    expect(userCheck.parseError).toBe(ErrorCode.Ok);
    expect(ownerCheck.mismatch).toBe(-1);
    expect(userCheck.mismatch).toBe(-1);
    expect(ownerCheck.matched).toBe(toOwner.length);
    expect(userCheck.matched).toBe(toUser.length);
    const stats = relay.stats();
    expect(stats.connections).toBe(2);
    expect(stats.joints).toBe(1);
    expect(stats.users).toBe(1);
    expect(stats.disconnects.protocol_error).toBeGreaterThan(0);
  });
});
