/**
 * The native relay engine's routes across nodes (issue 19, docs/native-engine.md "Cluster"): a
 * route whose far end is `REMOTE` is not written to a socket; its pieces come back as REMOTE
 * records, un-rewritten, in the batch of their loop turn (one JavaScript call per turn); the
 * frame-sequence rule holds for remote members; `leaveMember` removes one; `pause`/`unpause`
 * hold a connection's reading; the REMOTE bytes in flight are bounded (kMaxRemoteBytes). Skips
 * (loudly) without the native engine.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteKind, relayEngineBinding, type RelayEngineRemoteBinding } from '../../src/core/index.js';
import { cleanup, command, EventType, frame, Harness, SKIP_REASON } from './harness.js';

afterEach(cleanup);

const REMOTE = 0;
const START = 1;
const END = 2;
/** kMaxRemoteBytes (native/engine/engine-limits.h). */
const MAX_REMOTE_BYTES = 256 * 1024;

const skip = SKIP_REASON ?? (relayEngineBinding?.remote === true ? null : 'addon built before remote routes');

function remote(h: Harness): RelayEngineRemoteBinding {
  return h.engine as RelayEngineRemoteBinding;
}

/** A connection entered (as the control plane would answer it) into a joint owned on another node. */
async function remoteUser(h: Harness, jIn: number, jOwn: number, userNr: number): Promise<Awaited<ReturnType<Harness['accept']>>> {
  const u = await h.accept(command(1, 1, Buffer.from('far')));
  await h.next(EventType.Command, u.conn);
  h.engine.enter(u.conn, jIn, REMOTE, jOwn, userNr);
  h.engine.send(u.conn, Uint8Array.of(0, 3, 1, 0, jIn));
  h.engine.resume(u.conn);
  await u.client.read(5);
  return u;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip !== null)(`native relay engine: remote routes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('a user of a remote joint: its pieces become TO_OWNER records, un-rewritten, several per batch', async () => {
    const h = Harness.start();
    expect(relayEngineBinding!.REMOTE).toBe(0);
    const u = await remoteUser(h, 2, 7, 9);
    const batches = h.batches;
    u.client.write(Buffer.concat([frame(Buffer.from([2, 0xaa, 0xbb])), frame(Buffer.from([2, 0xcc])), frame(Buffer.from([5, 0xdd]))]));
    const a = await h.next(EventType.Remote, u.conn);
    const b = await h.next(EventType.Remote, u.conn);
    expect([a.a, a.b, a.c, a.flags, a.bytes.toString('hex')]).toEqual([RemoteKind.ToOwner, 2, 9, START | END, 'aabb']);
    expect([b.a, b.b, b.c, b.flags, b.bytes.toString('hex')]).toEqual([RemoteKind.ToOwner, 2, 9, START | END, 'cc']);
    // One read, one turn: both records came in one call. jIn 5 has no route: a drop, no record.
    expect(h.batches - batches).toBe(1);
    const s = await h.statsUntil('the drop', (s) => s.drops === 1);
    expect([s.remotePieces, s.remoteBytes]).toEqual([2, 3]);
    // A frame that arrives in two reads: two records, flags start then end.
    u.client.write(Buffer.of(5, 2, 1, 2));
    const first = await h.next(EventType.Remote, u.conn);
    await wait(30);
    u.client.write(Buffer.of(3, 4));
    const second = await h.next(EventType.Remote, u.conn);
    expect([first.flags, first.bytes.toString('hex'), second.flags, second.bytes.toString('hex')]).toEqual([START, '0102', END, '0304']);
    // leave: no route, no record.
    h.engine.leave(u.conn, 2);
    await wait(30);
    u.client.write(frame(Buffer.from([2, 1])));
    await h.statsUntil('the second drop', (s) => s.drops === 2);
    expect(h.events.filter((e) => e.type === EventType.Remote)).toHaveLength(0);
  });

  it('a remote member of an owned joint: TO_USER and one BROADCAST record per piece; local members still get theirs', async () => {
    const h = Harness.start();
    const owner = await h.owner('o', 1);
    const local = await h.user(owner.conn, 'o', 4, 1, 0);
    h.engine.enter(REMOTE, 0, owner.conn, 1, 3);
    h.engine.enter(REMOTE, 0, owner.conn, 1, 5);
    await wait(20);
    owner.client.write(frame(Buffer.from([0x81, 3, 0x11, 0x22])));
    const unicast = await h.next(EventType.Remote, owner.conn);
    expect([unicast.a, unicast.b, unicast.c, unicast.flags, unicast.bytes.toString('hex')]).toEqual([RemoteKind.ToUser, 1, 3, START | END, '1122']);
    // Broadcast to all but user 3: the local user gets it, one record covers the other nodes.
    owner.client.write(Buffer.concat([Buffer.of(1, 0), frame(Buffer.from([0x81, 3, 0x33]))]));
    const bc = await h.next(EventType.Remote, owner.conn);
    expect([bc.a, bc.b, bc.c, bc.bytes.toString('hex')]).toEqual([RemoteKind.Broadcast, 1, 3, '33']);
    expect((await local.client.read(3)).toString('hex')).toBe('020433');
    // To all (mode 1): excluded -1.
    owner.client.write(Buffer.concat([Buffer.of(1, 1), frame(Buffer.from([0x81, 0x44]))]));
    const all = await h.next(EventType.Remote, owner.conn);
    expect([all.a, all.c]).toEqual([RemoteKind.Broadcast, -1]);
    expect((await local.client.read(3)).toString('hex')).toBe('020444');
    // leaveMember: the remote users go; a broadcast then has no record, unicast to 3 is a drop.
    remote(h).leaveMember(owner.conn, 1, 3);
    remote(h).leaveMember(owner.conn, 1, 5);
    remote(h).leaveMember(owner.conn, 1, 5);
    await wait(20);
    owner.client.write(Buffer.concat([Buffer.of(1, 1), frame(Buffer.from([0x81, 0x55]))]));
    expect((await local.client.read(3)).toString('hex')).toBe('020455');
    owner.client.write(frame(Buffer.from([0x81, 3, 0x66])));
    await h.statsUntil('the drop', (s) => s.drops === 1);
    expect(h.events.filter((e) => e.type === EventType.Remote)).toHaveLength(0);
    // leaveMember of a local user takes its route both ways.
    remote(h).leaveMember(owner.conn, 1, 0);
    await wait(20);
    local.client.write(frame(Buffer.from([4, 0x77])));
    await h.statsUntil('the second drop', (s) => s.drops === 2);
    expect(owner.client.available).toBe(0);
  });

  it('a remote user who entered after a frame began gets none of it (frame-sequence rule)', async () => {
    const h = Harness.start();
    const owner = await h.owner('s');
    // A frame of 6 data bytes toward user 2 begins before user 2 exists ...
    owner.client.write(Buffer.of(8, 0x80, 2, 1, 2));
    await h.statsUntil('the first piece dropped', (s) => s.drops === 1);
    h.engine.enter(REMOTE, 0, owner.conn, 0, 2);
    await wait(20);
    // ... and ends after: dropped too. The next frame reaches it.
    owner.client.write(Buffer.of(3, 4, 5, 6));
    await h.statsUntil('the second piece dropped', (s) => s.drops === 2);
    owner.client.write(frame(Buffer.from([0x80, 2, 9])));
    const e = await h.next(EventType.Remote, owner.conn);
    expect([e.a, e.c, e.bytes.toString('hex')]).toEqual([RemoteKind.ToUser, 2, '09']);
    // A broadcast frame begun before a remote enter: no record for it.
    remote(h).leaveMember(owner.conn, 0, 2);
    await wait(20);
    owner.client.write(Buffer.concat([Buffer.of(1, 1, 5, 0x80, 1)]));
    await wait(30);
    h.engine.enter(REMOTE, 0, owner.conn, 0, 3);
    await wait(20);
    owner.client.write(Buffer.of(2, 3, 4));
    await wait(50);
    expect(h.events.filter((e) => e.type === EventType.Remote)).toHaveLength(0);
  });

  it('enter refuses REMOTE on both sides; a remote route of a connection goes when it closes', async () => {
    const h = Harness.start();
    expect(() => h.engine.enter(REMOTE, 0, REMOTE, 0, 0)).toThrow(RangeError);
    expect(() => remote(h).pause(0)).toThrow(RangeError);
    expect(() => remote(h).leaveMember(1, 128, 0)).toThrow(RangeError);
    const owner = await h.owner('c');
    h.engine.enter(REMOTE, 0, owner.conn, 0, 1);
    owner.client.socket.destroy();
    await h.next(EventType.Closed, owner.conn);
    // Its slot's next connection does not inherit the joint.
    const next = await h.owner('c2');
    next.client.write(frame(Buffer.from([0x80, 1, 1])));
    await h.statsUntil('a drop', (s) => s.drops === 1);
    expect(h.events.filter((e) => e.type === EventType.Remote)).toHaveLength(0);
  });

  it('pause holds a connection unread until unpause, independent of its other causes', async () => {
    const h = Harness.start();
    const owner = await h.owner('p');
    const user = await h.user(owner.conn, 'p', 0, 0, 0);
    remote(h).pause(user.conn);
    remote(h).pause(user.conn);
    await wait(20);
    user.client.write(frame(Buffer.from([0, 0x42])));
    await wait(80);
    expect(owner.client.available).toBe(0);
    remote(h).unpause(user.conn);
    expect((await owner.client.read(4)).toString('hex')).toBe('03800042');
    remote(h).unpause(user.conn);
    user.client.write(frame(Buffer.from([0, 0x43])));
    expect((await owner.client.read(4)).toString('hex')).toBe('03800043');
  });

  it('input held behind a command waits for unpause when paused before the resume (a cross-node enter in flight)', async () => {
    const h = Harness.start();
    const owner = await h.owner('q');
    const { conn } = await h.accept(Buffer.concat([command(1, 1, Buffer.from('q')), frame(Buffer.from([0, 0x42]))]));
    await h.next(EventType.Command, conn);
    remote(h).pause(conn);
    h.engine.resume(conn);
    await wait(60);
    // Parsed now, the piece would have had no route: it waits instead.
    expect(h.stats().drops).toBe(0);
    h.engine.enter(conn, 0, owner.conn, 0, 0);
    remote(h).unpause(conn);
    expect((await owner.client.read(4)).toString('hex')).toBe('03800042');
  });

  it('reports BACKLOG 1 when what send() queued passes the high-water mark, and 0 once it drains to the low-water mark', async () => {
    const h = Harness.start({ outboundHighWaterBytes: 65536, outboundLowWaterBytes: 16384 });
    const owner = await h.owner('w');
    owner.client.socket.pause();
    const chunk = new Uint8Array(32 * 1024);
    for (let i = 0; i < 256; i++) h.engine.send(owner.conn, chunk);
    const high = await h.next(EventType.Backlog, owner.conn, 5000);
    expect(high.a).toBe(1);
    owner.client.socket.resume();
    const low = await h.next(EventType.Backlog, owner.conn, 5000);
    expect(low.a).toBe(0);
    await owner.client.read(256 * 32 * 1024, 10_000);
    expect(h.events.filter((e) => e.type === EventType.Backlog)).toHaveLength(0);
  });

  it('stops reading the sources while the REMOTE bytes JavaScript has not handled pass the cap, and loses nothing', { timeout: 20_000 }, async () => {
    const h = Harness.start();
    // The sender is another process: this thread blocks inside the engine's call while it writes.
    const total = 12 * 1024 * 1024;
    const child = spawn(process.execPath, ['-e', SENDER, String(h.port), String(total)], { stdio: ['ignore', 'ignore', 'inherit'] });
    try {
      const a = await h.next(EventType.Accept, undefined, 5000);
      h.engine.admit(a.conn);
      await h.next(EventType.Command, a.conn);
      h.engine.enter(a.conn, 0, REMOTE, 0, 0);
      h.engine.send(a.conn, Uint8Array.of(0, 3, 1, 0, 0));
      h.engine.resume(a.conn);
      let blocked = false;
      let atUnblock = -1;
      h.onRecord = (type) => {
        if (type !== EventType.Remote || blocked) return;
        blocked = true;
        // JavaScript is busy for 1.5 s: the engine reads until the cap, then waits.
        const until = Date.now() + 1500;
        while (Date.now() < until) {
          /* busy */
        }
        atUnblock = h.stats().remoteBytes;
      };
      let got = 0;
      let ok = true;
      let expectByte = 0;
      const deadline = Date.now() + 15_000;
      while (got < total && Date.now() < deadline) {
        for (let e = h.events.shift(); e !== undefined; e = h.events.shift()) {
          if (e.type !== EventType.Remote) continue;
          for (const byte of e.bytes) {
            if (byte !== (expectByte & 0xff)) ok = false;
            expectByte++;
          }
          got += e.bytes.length;
        }
        await wait(5);
      }
      expect(got).toBe(total);
      expect(ok).toBe(true);
      // While blocked, the engine went no further than the cap and a read past it.
      expect(atUnblock).toBeGreaterThan(0);
      expect(atUnblock).toBeLessThanOrEqual(MAX_REMOTE_BYTES + 2 * 64 * 1024);
      expect(h.stats().remotePaused).toBeGreaterThanOrEqual(1);
    } finally {
      child.kill();
    }
  });
});

/**
 * The sending process: enter, wait for the reply, then `total` data bytes to jIn 0 in frames of
 * 32766 bytes, counting byte values 0, 1, 2 ... (mod 256).
 */
const SENDER = `
const net = require('node:net');
const [port, total] = [Number(process.argv[1]), Number(process.argv[2])];
const s = net.connect({ host: '127.0.0.1', port }, () => s.write(Buffer.from([0, 1, 1, 1, 0x67])));
let replied = false;
s.on('data', () => {
  if (replied) return;
  replied = true;
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(32766, total - sent);
      const f = Buffer.alloc(n + 3);
      f[0] = ((n + 1) >> 8) + 0x80; f[1] = (n + 1) & 0xff; f[2] = 0;
      for (let i = 0; i < n; i++) f[3 + i] = (sent + i) & 0xff;
      sent += n;
      if (!s.write(f)) return s.once('drain', pump);
    }
  };
  pump();
});
s.on('error', () => process.exit(0));
setTimeout(() => process.exit(0), 18000).unref();
`;
