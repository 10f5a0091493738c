/**
 * The native relay engine's data plane driven through its binding (issue 19): accept, admit,
 * commands held until resume, routes set by enter/leave/own, data rewritten both ways byte for
 * byte (joint.md §2.3), frames split at 32767 (§2.5), broadcast with an excluded user (§5), and
 * the frame-sequence rule. Skips (loudly) without the native engine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, command, EventType, frame, Harness, SKIP_REASON } from './harness.js';

afterEach(cleanup);

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe.skipIf(SKIP_REASON !== null)(`native relay engine: forwarding${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  it('reports an ACCEPT with the remote address, holds input until admit, and a COMMAND until resume', async () => {
    const h = Harness.start();
    const { client, conn } = await h.accept(command(0, 7, Buffer.from('room')));
    const accepts = h.batches;
    expect(accepts).toBeGreaterThan(0);
    const cmd = await h.next(EventType.Command, conn);
    expect([cmd.a, cmd.b, cmd.bytes.toString()]).toEqual([0, 7, 'room']);
    // A second command waits for resume.
    client.write(command(1, 8, Buffer.from('x')));
    await new Promise((r) => setTimeout(r, 50));
    expect(h.events.filter((e) => e.type === EventType.Command)).toHaveLength(0);
    h.engine.resume(conn);
    const second = await h.next(EventType.Command, conn);
    expect([second.a, second.b, second.bytes.toString()]).toEqual([1, 8, 'x']);
    expect(h.stats().accepted).toBe(1);
  });

  it('tells the ACCEPT the remote IP as ASCII and counts the connection', async () => {
    const h = Harness.start();
    const { conn } = await h.accept(command(0, 1, Buffer.from('a')));
    expect(conn).toBeGreaterThan(0);
    const s = await h.statsUntil('connections', (s) => s.connections === 1);
    expect(s.pendingConnections).toBe(0);
  });

  it('forwards user -> owner as jOwn+128, userNr and owner -> user as jIn, byte for byte', async () => {
    const h = Harness.start();
    const owner = await h.owner('game', 3);
    const user = await h.user(owner.conn, 'game', 5, 3, 9);
    user.client.write(frame(Buffer.from([5, 0xaa, 0xbb, 0xcc])));
    expect((await owner.client.read(6)).toString('hex')).toBe('058309aabbcc');
    owner.client.write(frame(Buffer.from([0x83, 9, 1, 2])));
    expect((await user.client.read(4)).toString('hex')).toBe('03050102');
    // Data after an enter in the same read sees its route: the command held the rest.
    const s = h.stats();
    expect(s.framesOut).toBeGreaterThanOrEqual(4);
    expect(s.drops).toBe(0);
  });

  it('data written right behind an enter command reaches the owner once the route is set', async () => {
    const h = Harness.start();
    const owner = await h.owner('g');
    const { client, conn } = await h.accept(Buffer.concat([command(1, 1, Buffer.from('g')), frame(Buffer.from([0, 0x42]))]));
    await h.next(EventType.Command, conn);
    h.engine.enter(conn, 0, owner.conn, 0, 0);
    h.engine.resume(conn);
    expect((await owner.client.read(4)).toString('hex')).toBe('03800042');
    expect(client.closed).toBe(false);
  });

  it('a frame begun right behind an enter in the same read and finished by a later one arrives whole', async () => {
    // A unit before the enter (data to a joint not entered: dropped) puts the enter in the read's
    // second feed, with a partial frame behind it: parsing resumes right after the enter.
    const h = Harness.start();
    const owner = await h.owner('g');
    const whole = frame(Buffer.concat([Buffer.of(0), pattern(300, 5)]));
    const { client, conn } = await h.accept(Buffer.concat([frame(Buffer.of(7, 0xa2)), command(1, 1, Buffer.from('g')), whole.subarray(0, 100)]));
    await h.next(EventType.Command, conn);
    h.engine.enter(conn, 0, owner.conn, 0, 0);
    h.engine.resume(conn);
    await new Promise((r) => setTimeout(r, 20));
    client.write(whole.subarray(100));
    const got = await owner.client.readData(300);
    expect(Buffer.concat(got.map((u) => u.data)).equals(pattern(300, 5))).toBe(true);
    expect(client.closed).toBe(false);
  });

  it('a protocol error right behind a command in the same read closes the peer once the command is handled', async () => {
    // The fuzzer's first finding on this engine: data to a joint not entered, an enter, an unknown command.
    const h = Harness.start();
    const { conn } = await h.accept(Buffer.from('0273a20001e6014100090000', 'hex'));
    await h.next(EventType.Command, conn);
    h.engine.resume(conn);
    const closed = await h.next(EventType.Closed, conn);
    expect(closed.a).toBe(2); // protocol_error
  });

  it('splits long data into frames of at most 32767 in both directions, every byte in order', async () => {
    const h = Harness.start();
    const owner = await h.owner('big');
    const user = await h.user(owner.conn, 'big', 0, 0, 0);
    // Sender frames of 32765 data bytes (the most joint.md §2.5 allows), 100000 bytes in all.
    const up = pattern(100_000, 1);
    for (let at = 0; at < up.length; at += 32765) user.client.write(frame(Buffer.concat([Buffer.of(0), up.subarray(at, at + 32765)])));
    const down = pattern(70_000, 2);
    for (let at = 0; at < down.length; at += 32765) owner.client.write(frame(Buffer.concat([Buffer.of(0x80, 0), down.subarray(at, at + 32765)])));
    const atOwner = await owner.client.readData(up.length);
    expect(atOwner.every((u) => u.a === 0x80 && u.b === 0)).toBe(true);
    expect(Buffer.concat(atOwner.map((u) => u.data)).equals(up)).toBe(true);
    const atUser = await user.client.readData(down.length);
    expect(atUser.every((u) => u.a === 0)).toBe(true);
    expect(Buffer.concat(atUser.map((u) => u.data)).equals(down)).toBe(true);
  });

  it('broadcasts to every user of an own joint but the excluded one, and to all with mode 1', async () => {
    const h = Harness.start();
    const owner = await h.owner('b');
    const users = [];
    for (let i = 0; i < 3; i++) users.push(await h.user(owner.conn, 'b', 0, 0, i));
    owner.client.write(Buffer.concat([Buffer.of(1, 0), frame(Buffer.from([0x80, 1, 0x11, 0x22]))]));
    expect((await users[0]!.client.read(4)).toString('hex')).toBe('03001122');
    expect((await users[2]!.client.read(4)).toString('hex')).toBe('03001122');
    owner.client.write(Buffer.concat([Buffer.of(1, 1), frame(Buffer.from([0x80, 0x33]))]));
    for (const u of users) expect((await u.client.read(3)).toString('hex')).toBe('020033');
    expect(users[1]!.client.available).toBe(0);
    // A long broadcast is split at 32767 for each recipient.
    const long = pattern(40_000, 3);
    owner.client.write(Buffer.concat([Buffer.of(1, 1), frame(Buffer.concat([Buffer.of(0x80), long.subarray(0, 32765)]))]));
    owner.client.write(Buffer.concat([Buffer.of(1, 1), frame(Buffer.concat([Buffer.of(0x80), long.subarray(32765)]))]));
    for (const u of users) expect(Buffer.concat((await u.client.readData(long.length)).map((x) => x.data)).equals(long)).toBe(true);
  });

  it('a broadcast on a joint the sender does not own closes it with protocol_error', async () => {
    const h = Harness.start();
    const owner = await h.owner('p');
    owner.client.write(Buffer.concat([Buffer.of(1, 1), frame(Buffer.from([0x85, 0x33]))]));
    const closed = await h.next(EventType.Closed, owner.conn);
    expect(closed.a).toBe(2);
    expect(closed.bytes.toString()).toMatch(/does not own/);
    await owner.client.waitClosed();
  });

  it('after leave, nothing goes either way and the pieces count as drops', async () => {
    const h = Harness.start();
    const owner = await h.owner('l');
    const user = await h.user(owner.conn, 'l', 0, 0, 0);
    h.engine.leave(user.conn, 0);
    h.engine.leave(user.conn, 0);
    await new Promise((r) => setTimeout(r, 30));
    user.client.write(frame(Buffer.from([0, 1])));
    owner.client.write(frame(Buffer.from([0x80, 0, 2])));
    await h.statsUntil('2 drops', (s) => s.drops === 2);
    expect(owner.client.available + user.client.available).toBe(0);
  });

  it('own(false) removes a joint and its routes (a delete)', async () => {
    const h = Harness.start();
    const owner = await h.owner('d');
    const user = await h.user(owner.conn, 'd', 0, 0, 0);
    h.engine.own(owner.conn, 0, false);
    await new Promise((r) => setTimeout(r, 30));
    user.client.write(frame(Buffer.from([0, 1])));
    await h.statsUntil('1 drop', (s) => s.drops === 1);
    // Broadcasting on it now is a protocol error: it is no longer owned.
    owner.client.write(Buffer.concat([Buffer.of(1, 1), frame(Buffer.from([0x80, 0x33]))]));
    expect((await h.next(EventType.Closed, owner.conn)).a).toBe(2);
  });

  it('a user who entered after an owner frame began gets none of it (the frame-sequence rule)', async () => {
    const h = Harness.start();
    const owner = await h.owner('s');
    const first = await h.user(owner.conn, 's', 0, 0, 0);
    // A 200-byte frame to userNr 0: its first 100 bytes now, the rest after userNr 0 changed hands.
    const body = pattern(200, 4);
    const whole = frame(Buffer.concat([Buffer.of(0x80, 0), body]));
    owner.client.write(whole.subarray(0, 103));
    await first.client.read(1 + 1 + 99);
    h.engine.leave(first.conn, 0);
    const second = await h.user(owner.conn, 's', 0, 0, 0);
    owner.client.write(whole.subarray(103));
    owner.client.write(frame(Buffer.from([0x80, 0, 0x77])));
    expect((await second.client.read(3)).toString('hex')).toBe('020077');
    expect(first.client.available).toBe(0);
  });

  it('joins every connection to the engine with generation ids: a stale id reaches nobody', async () => {
    const h = Harness.start();
    const a = await h.accept(command(0, 1, Buffer.from('x')));
    await h.next(EventType.Command, a.conn);
    h.engine.resume(a.conn);
    a.client.socket.destroy();
    expect((await h.next(EventType.Closed, a.conn)).a).toBe(0);
    const b = await h.accept(command(0, 1, Buffer.from('y')));
    expect(b.conn).not.toBe(a.conn);
    h.engine.send(a.conn, Uint8Array.of(0, 1, 9));
    h.engine.send(b.conn, Uint8Array.of(0, 1, 8));
    expect((await b.client.read(3)).toString('hex')).toBe('000108');
  });
});
