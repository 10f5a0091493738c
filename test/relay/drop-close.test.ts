/**
 * How a dropped peer's connection ends, on the wire (issue 19: the engines behave alike). The
 * control plane's drops (a command past `commandsPerSec`, cmd 4 without `kick`, a broadcast on a
 * joint the sender does not own) end the connection at once: what the relay still held for the
 * peer is dropped, and a WebSocket peer gets no close frame (1006), as the Node engine's
 * `destroy()`. Only the relay's shutdown flushes what is owed and ends gracefully (close 1000),
 * for at most `closeGraceMs`. Runs on the default engine, native where it can (main project), and
 * on the Node engine (relay-node project).
 *
 * Each case: an owner stops reading while a user floods it until the relay holds a backlog for
 * it (the user is then paused by backpressure), and the owner is dropped or the relay closed; the
 * owner then reads what reaches it. Everything the relay read (`bytesIn`) reaching it means the
 * backlog was flushed; the backlog missing means it was dropped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { Relay, silentLogger, DisconnectReason, type RelayOptions } from '../../src/relay/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Data bytes per user frame: `size(2) jIn data` is DATA + 3 bytes on the wire. */
const DATA = 32000;
/**
 * The backlog the relay must hold for the owner before it is dropped (bytes); at least half of it
 * must be missing at the owner when it was dropped (the Node engine's figure for a WebSocket
 * peer counts more than its socket holds, so not all of it).
 */
const BACKLOG_MIN = 256 * 1024;

let relay: Relay | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await relay?.close();
  relay = undefined;
});

/**
 * Counts the data bytes of a relay → client stream as it arrives (no accumulation): control
 * `00 len body`; data `size(1 or 2 bytes) route(2 bytes toward an owner) data`.
 */
class PayloadCounter {
  payload = 0;
  private header: number[] = [];
  private left = 0;
  private data = false;

  feed(b: Uint8Array): void {
    let i = 0;
    while (i < b.length) {
      if (this.left > 0) {
        const take = Math.min(this.left, b.length - i);
        if (this.data) this.payload += take;
        this.left -= take;
        i += take;
        continue;
      }
      const h = this.header;
      h.push(b[i++]!);
      if (h[0] === 0) {
        if (h.length < 2) continue;
        this.data = false;
        this.left = h[1]!;
      } else {
        const long = h[0]! >= 128;
        if (h.length < (long ? 4 : 3)) continue;
        this.data = true;
        this.left = (long ? ((h[0]! - 128) << 8) | h[1]! : h[0]!) - 2;
      }
      this.header = [];
    }
  }
}

/** An owner over raw TCP or WebSocket that can stop reading; counts what it receives. */
interface Owner {
  send(bytes: Uint8Array): void;
  pause(): void;
  resume(): void;
  readonly counter: PayloadCounter;
  /** Resolves when the connection is gone: the WebSocket close code, or 0 for TCP. */
  readonly closed: Promise<number>;
  /** Wait for `n` bytes (the replies and events before the flood). */
  read(n: number): Promise<Buffer>;
}

function tcpOwner(port: number): Promise<Owner> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    cleanups.push(() => socket.destroy());
    socket.on('error', () => {});
    const counter = new PayloadCounter();
    let head: Buffer = Buffer.alloc(0);
    let wake: (() => void) | null = null;
    socket.on('data', (d: Buffer) => {
      head = Buffer.concat([head, d]);
      wake?.();
    });
    const closed = new Promise<number>((res) => socket.once('close', () => res(0)));
    socket.once('connect', () =>
      resolve({
        send: (b) => socket.write(b),
        pause: () => {
          socket.removeAllListeners('data');
          socket.pause();
          socket.on('data', (d: Buffer) => counter.feed(d));
        },
        resume: () => socket.resume(),
        counter,
        closed,
        read: (n) => readHead(n, () => head, (rest) => (head = rest), (w) => (wake = w)),
      }),
    );
    socket.once('error', reject);
  });
}

function wsOwner(port: number): Promise<Owner> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    cleanups.push(() => ws.terminate());
    ws.binaryType = 'nodebuffer';
    ws.on('error', () => {});
    const counter = new PayloadCounter();
    let head: Buffer = Buffer.alloc(0);
    let counting = false;
    let wake: (() => void) | null = null;
    ws.on('message', (d: Buffer) => {
      if (counting) counter.feed(d);
      else {
        head = Buffer.concat([head, d]);
        wake?.();
      }
    });
    const closed = new Promise<number>((res) => ws.once('close', (code: number) => res(code)));
    ws.once('open', () =>
      resolve({
        send: (b) => ws.send(b),
        pause: () => {
          counting = true;
          ws.pause();
        },
        resume: () => ws.resume(),
        counter,
        closed,
        read: (n) => readHead(n, () => head, (rest) => (head = rest), (w) => (wake = w)),
      }),
    );
    ws.once('error', reject);
  });
}

async function readHead(n: number, get: () => Buffer, set: (rest: Buffer) => void, onWake: (w: () => void) => void): Promise<Buffer> {
  const deadline = Date.now() + 3000;
  while (get().length < n) {
    if (Date.now() > deadline) throw new Error(`timeout with ${get().length}/${n} bytes`);
    await new Promise<void>((r) => {
      const t = setTimeout(r, 50);
      onWake(() => {
        clearTimeout(t);
        r();
      });
    });
  }
  const out = get().subarray(0, n);
  set(get().subarray(n));
  return out;
}

async function until(what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * A relay, an owner of joint `j` (raw TCP or WebSocket) that has stopped reading, and a raw TCP
 * user that flooded it until backpressure paused the user.
 * @returns the owner, and the data bytes the relay read for it (all of them would reach it if flushed).
 */
async function flooded(kind: 'tcp' | 'ws', options: RelayOptions): Promise<{ r: Relay; owner: Owner; forwarded: number }> {
  const r = (relay = await Relay.listen({ logger: silentLogger, maxOutboundBytes: 0, stallTimeoutMs: 0, ...options }));
  const owner = kind === 'tcp' ? await tcpOwner(r.port) : await wsOwner(r.port);
  owner.send(Buffer.from('00000101' + Buffer.from('j').toString('hex'), 'hex'));
  expect((await owner.read(5)).toString('hex')).toBe('0003010000');
  const user = connect({ port: r.port, host: '127.0.0.1' });
  cleanups.push(() => user.destroy());
  user.on('error', () => {});
  await new Promise((res) => user.once('connect', res));
  let reply = Buffer.alloc(0);
  user.on('data', (d: Buffer) => (reply = Buffer.concat([reply, d])));
  user.write(Buffer.from('00010101' + Buffer.from('j').toString('hex'), 'hex'));
  await until('enter reply', () => reply.length >= 5);
  expect((await owner.read(6)).toString('hex')).toBe('000400000000'); // userConnect 0
  owner.pause();
  const frame = Buffer.concat([Buffer.of(((DATA + 1) >> 8) + 0x80, (DATA + 1) & 0xff, 0), Buffer.alloc(DATA, 7)]);
  for (let round = 0; round < 2000 && r.stats().backpressuredNow === 0; round++) {
    for (let i = 0; i < 16 && user.writableLength < 4 * 1024 * 1024; i++) user.write(frame);
    await sleep(2);
  }
  await until('the user paused by backpressure', () => r.stats().backpressuredNow === 1);
  // Paused: the relay reads nothing more of it, so what it read is settled.
  let before = -1;
  while (r.stats().bytesIn !== before) {
    before = r.stats().bytesIn;
    await sleep(50);
  }
  expect(r.stats().backlogBytes).toBeGreaterThanOrEqual(BACKLOG_MIN);
  // Everything read but commands and handshakes was user frames of DATA data bytes each.
  return { r, owner, forwarded: Math.floor(((before - 512) * DATA) / (DATA + 3)) };
}

const TRIGGERS: { what: string; reason: DisconnectReason; options: RelayOptions; bytes: string }[] = [
  { what: 'a command past commandsPerSec', reason: DisconnectReason.RateLimit, options: { commandsPerSec: 1, commandBurst: 1 }, bytes: '0003000105' },
  { what: 'cmd 4 without kick', reason: DisconnectReason.ProtocolError, options: {}, bytes: '000400020000' },
  { what: 'a broadcast on a joint it does not own', reason: DisconnectReason.ProtocolError, options: {}, bytes: '01010385aabb' },
];

describe('a drop decided by the relay ends the connection at once (as the Node engine destroy())', () => {
  for (const kind of ['tcp', 'ws'] as const) {
    for (const t of TRIGGERS) {
      it(`${kind}: ${t.what} (${t.reason}): the backlog is dropped${kind === 'ws' ? ', no close frame (1006)' : ''}`, async () => {
        const { r, owner, forwarded } = await flooded(kind, t.options);
        owner.send(Buffer.from(t.bytes, 'hex'));
        await until(`${t.reason} drop`, () => r.stats().disconnects[t.reason] === 1);
        owner.resume();
        const code = await owner.closed;
        if (kind === 'ws') expect(code).toBe(1006);
        expect(forwarded - owner.counter.payload).toBeGreaterThan(BACKLOG_MIN / 2);
        expect(r.stats().connections).toBe(1);
      });
    }
  }
});

describe('the shutdown flushes what is owed, for at most closeGraceMs', () => {
  for (const kind of ['tcp', 'ws'] as const) {
    it(`${kind}: relay.close() delivers everything to a peer that reads within closeGraceMs (past 2 s)${kind === 'ws' ? ', then close 1000' : ''}`, async () => {
      const { r, owner, forwarded } = await flooded(kind, { closeGraceMs: 4000 });
      const closing = r.close();
      relay = undefined;
      // Past the native engine's former fixed window (1 s, enforced by a sweep of up to 1 s).
      await sleep(2300);
      owner.resume();
      const code = await owner.closed;
      await closing;
      if (kind === 'ws') expect(code).toBe(1000);
      expect(owner.counter.payload).toBeGreaterThanOrEqual(forwarded - 4096);
      expect(r.stats().disconnects.shutdown).toBe(2);
    });

    it(`${kind}: past closeGraceMs the rest is dropped${kind === 'ws' ? ' (no close frame: 1006)' : ''}`, async () => {
      const { r, owner, forwarded } = await flooded(kind, { closeGraceMs: 200 });
      const closing = r.close();
      relay = undefined;
      await closing;
      owner.resume();
      const code = await owner.closed;
      if (kind === 'ws') expect(code).toBe(1006);
      expect(forwarded - owner.counter.payload).toBeGreaterThan(BACKLOG_MIN / 2);
    });
  }
});
