/**
 * The native engine's broadcast run (issue 19): consecutive broadcast pieces of one read are
 * written once per jIn group and handed to every member of the group, shared (a reference to one
 * chunk, runs of at least kShareMinBytes) or copied (shorter runs); WebSocket members get theirs
 * one message per unit. Each member must still get exactly its own stream, in order, and a member
 * that stops reading must still be judged by what it owes. Skips (loudly) without the engine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { relayEngineBinding } from '../../src/core/index.js';
import { UnitDecoder } from '../relay/raw-client.js';
import { cleanup, command, EventType, frame, Harness, SKIP_REASON } from './harness.js';

const sockets = new Set<WebSocket>();
afterEach(() => {
  for (const s of sockets) s.terminate();
  sockets.clear();
  cleanup();
});

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** A broadcast unit (joint.md §5): to all (excluded undefined) or all but `excluded`, on jOwn 0. */
function broadcast(data: Uint8Array, excluded?: number): Buffer {
  const head = excluded === undefined ? Buffer.of(0x80) : Buffer.of(0x80, excluded);
  return Buffer.concat([Buffer.of(1, excluded === undefined ? 1 : 0), frame(Buffer.concat([head, data]))]);
}

/** Every data unit of `bytes` (joint.md §2.4): the route byte and the data, joined in order. */
function decode(bytes: Buffer): { routes: Set<number>; data: Buffer } {
  const decoder = new UnitDecoder();
  decoder.feed(bytes);
  expect(decoder.error).toBe(0);
  const units = decoder.units.filter((u) => u.kind === 'data') as { a: number; data: Buffer }[];
  return { routes: new Set(units.map((u) => u.a)), data: Buffer.concat(units.map((u) => u.data)) };
}

async function until(what: string, timeoutMs: number, done: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const WS_OK = relayEngineBinding?.webSocket === true;

describe.skipIf(SKIP_REASON !== null)(`native relay engine: broadcast runs${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  it('each member gets its own stream in order: two jIn groups, an excluded user, a unicast between, long pieces, a WebSocket member', async () => {
    const h = Harness.start();
    const owner = await h.owner('r');
    // userNr -> jIn: two raw TCP groups (jIn 0 and 3) and a WebSocket user of jIn 1.
    const jInOf = [0, 0, 3, 3, 1];
    const users = [];
    for (let nr = 0; nr < 4; nr++) users.push(await h.user(owner.conn, 'r', jInOf[nr]!, 0, nr));
    let ws: WebSocket | undefined;
    const wsBytes: Buffer[] = [];
    if (WS_OK) {
      ws = new WebSocket(`ws://127.0.0.1:${h.port}/`);
      sockets.add(ws);
      ws.on('message', (d: Buffer) => wsBytes.push(Buffer.from(d)));
      ws.on('error', () => {});
      await new Promise((resolve, reject) => {
        ws!.once('open', resolve);
        ws!.once('error', reject);
      });
      const accept = await h.next(EventType.Accept);
      h.engine.admit(accept.conn);
      ws.send(command(1, 1, Buffer.from('r')));
      await h.next(EventType.Command, accept.conn);
      h.engine.enter(accept.conn, 1, owner.conn, 0, 4);
      h.engine.resume(accept.conn);
    }
    const members = WS_OK ? 5 : 4;
    const want: Buffer[][] = Array.from({ length: members }, () => []);
    const out: Buffer[] = [];
    const toAll = (data: Buffer, excluded?: number) => {
      out.push(broadcast(data, excluded));
      for (let nr = 0; nr < members; nr++) if (nr !== excluded) want[nr]!.push(data);
    };
    // A shared run (100 x 64 B: past kShareMinBytes per group), a unicast to user 1, a short run
    // without user 0 (copied), a long run (frames split at 32767 on the way out), a last short one.
    for (let i = 0; i < 100; i++) toAll(pattern(64, i));
    const uni = pattern(50, 200);
    out.push(frame(Buffer.concat([Buffer.of(0x80, 1), uni])));
    want[1]!.push(uni);
    for (let i = 0; i < 5; i++) toAll(pattern(30, 300 + i), 0);
    toAll(pattern(32765, 400));
    toAll(pattern(20_000, 401));
    toAll(pattern(10, 402), 2);
    owner.client.write(Buffer.concat(out));
    for (let nr = 0; nr < 4; nr++) {
      const expected = Buffer.concat(want[nr]!);
      const got = await users[nr]!.client.readData(expected.length);
      expect(new Set(got.map((u) => u.a))).toEqual(new Set([jInOf[nr]]));
      expect(Buffer.concat(got.map((u) => u.data)).equals(expected)).toBe(true);
    }
    if (WS_OK) {
      const expected = Buffer.concat(want[4]!);
      await until('the WebSocket member', 5000, () => decode(Buffer.concat(wsBytes)).data.length >= expected.length);
      const got = decode(Buffer.concat(wsBytes));
      expect(got.routes).toEqual(new Set([1]));
      expect(got.data.equals(expected)).toBe(true);
    }
    const s = await h.statsUntil('backlog gone', (s) => s.backlogBytes === 0);
    expect(s.drops).toBe(0);
  });

  it('a member that stops reading shared broadcasts is dropped slow_reader; the other gets every byte; the backlog gauge returns to 0', async () => {
    const h = Harness.start({ maxOutboundBytes: 256 * 1024, outboundHighWaterBytes: 64 * 1024, outboundLowWaterBytes: 16 * 1024 });
    const owner = await h.owner('s');
    const reader = await h.user(owner.conn, 's', 0, 0, 0);
    const stuck = await h.user(owner.conn, 's', 0, 0, 1);
    stuck.client.socket.pause();
    const data = Buffer.alloc(32765, 9);
    const unit = broadcast(data);
    const closed = h.next(EventType.Closed, stuck.conn, 15_000);
    let done = false;
    void closed.then(() => (done = true), () => (done = true));
    let frames = 0;
    // Loopback kernel buffers take several MiB before the engine's backlog grows.
    while (!done && frames < 8192) {
      for (let i = 0; i < 16; i++) owner.client.write(unit);
      frames += 16;
      await new Promise((r) => setTimeout(r, 2));
    }
    const e = await closed;
    expect(e.a).toBe(4);
    expect(e.bytes.toString()).toMatch(/bytes unsent/);
    const got = await reader.client.readData(frames * data.length, 20_000);
    expect(got.reduce((n, u) => n + u.data.length, 0)).toBe(frames * data.length);
    expect(got.every((u) => u.a === 0 && u.data.every((b) => b === 9))).toBe(true);
    const s = await h.statsUntil('backlog gone', (s) => s.backlogBytes === 0);
    expect(s.slow_reader).toBe(1);
    expect(owner.client.closed).toBe(false);
  });
});
