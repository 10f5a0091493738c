/**
 * The native engine's handover (`relay --workers`, docs/native-engine.md "Handover"), driven
 * through the binding: `detach` gives a connection's socket and unread input to JavaScript,
 * `adopt` takes a connected socket as a new connection. Two engines in one process stand for two
 * workers. Every byte a client sends arrives once and in order, the descriptor is closed once (by
 * whoever owns it last), and misuse is refused without a change. Skips (loudly) without the engine.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { connect, createServer, Socket, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayEngineHandoverBinding } from '../../src/core/index.js';
import { Client, EventType, Harness, SKIP_REASON, cleanup, command, frame } from './harness.js';

const handover = (h: Harness): RelayEngineHandoverBinding => h.engine as RelayEngineHandoverBinding;

/** True while `fd` is an open descriptor of this process. */
function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(SKIP_REASON !== null)(`native relay engine: detach and adopt${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  const servers: Server[] = [];
  afterEach(() => {
    cleanup();
    for (const s of servers.splice(0)) s.close();
  });

  it('detach at a COMMAND hands over the held input; adopt in another engine resumes with every byte once and in order', async () => {
    const a = Harness.start();
    const b = Harness.start();
    const owner = await b.owner('room');
    const client = await Client.connect(a.port);
    // The enter and three frames to in-joint 0 (data `i 5a`) in one write; while detached, 20 more writes.
    const frames = (from: number, to: number): Buffer => Buffer.concat(Array.from({ length: to - from }, (_, i) => frame(Buffer.of(0, from + i, 0x5a))));
    const enter = command(1, 7, Buffer.from('room'));
    client.write(Buffer.concat([enter, frames(0, 3)]));
    const accept = await a.next(EventType.Accept);
    a.engine.admit(accept.conn);
    const cmd = await a.next(EventType.Command, accept.conn);
    expect([cmd.a, cmd.b, cmd.bytes.toString()]).toEqual([1, 7, 'room']);
    const got = handover(a).detach(accept.conn);
    expect(got).not.toBeNull();
    const { fd, bytes } = got!;
    expect(isOpen(fd)).toBe(true);
    expect(bytes).toEqual(frames(0, 3));
    // Counters are published at the end of the loop turn that applied the detach.
    const counted = await a.statsUntil('the detach counted', (s) => s.peer_closed === 1);
    expect(counted.connections).toBe(0);
    for (let i = 3; i < 23; i++) client.write(frames(i, i + 1));
    await sleep(30);
    // Forgotten: no CLOSED, and calls for it are ignored.
    a.engine.resume(accept.conn);
    expect(handover(a).detach(accept.conn)).toBeNull();
    await sleep(20);
    expect(a.events.filter((e) => e.conn === accept.conn && e.type !== EventType.Connect)).toEqual([]);

    const id = handover(b).adopt(fd, Buffer.concat([enter, bytes]), '127.0.0.1', client.localPort);
    expect(id).toBeGreaterThan(0);
    // The engine took a duplicate: ours is still open, and ours to close.
    expect(isOpen(fd)).toBe(true);
    closeSync(fd);
    const acc = await b.next(EventType.Accept, id);
    expect([acc.a, acc.b, acc.bytes.toString()]).toEqual([0, client.localPort, '127.0.0.1']);
    // No CONNECT for an adopted socket: its adopter admitted it.
    expect(b.events.some((e) => e.type === EventType.Connect && e.conn === id)).toBe(false);
    b.engine.admit(id);
    const again = await b.next(EventType.Command, id);
    expect([again.a, again.b, again.bytes.toString()]).toEqual([1, 7, 'room']);
    b.engine.enter(id, 0, owner.conn, 0, 0);
    b.engine.send(id, Uint8Array.of(0, 3, 7, 0, 0));
    b.engine.resume(id);
    expect(await client.read(5)).toEqual(Buffer.of(0, 3, 7, 0, 0));
    const data = await owner.client.readData(23 * 2);
    expect(Buffer.concat(data.map((d) => d.data))).toEqual(Buffer.concat(Array.from({ length: 23 }, (_, i) => Buffer.of(i, 0x5a))));
    expect(data.every((d) => d.a === 0x80 && d.b === 0)).toBe(true);
    // Both ways: the owner's frame reaches the adopted user.
    owner.client.write(frame(Buffer.of(0x80, 0, 0x41)));
    expect(await client.read(3)).toEqual(Buffer.of(2, 0, 0x41));
    // Closed once, by the engine that owns it now; the client sees the end.
    b.engine.close(id, 7);
    await client.waitClosed();
  });

  it('detach before admit hands over the first read; an empty adopt waits for the first bytes', async () => {
    const a = Harness.start();
    const b = Harness.start();
    const client = await Client.connect(a.port);
    client.write(Buffer.from('abc'));
    const accept = await a.next(EventType.Accept);
    const got = handover(a).detach(accept.conn)!;
    expect(got.bytes.toString()).toBe('abc');
    const id = handover(b).adopt(got.fd, new Uint8Array(0), '127.0.0.1', client.localPort);
    closeSync(got.fd);
    expect(id).toBeGreaterThan(0);
    await sleep(30);
    expect(b.events.filter((e) => e.conn === id)).toEqual([]);
    expect(b.stats().pendingConnections).toBe(1);
    client.write(command(0, 1, Buffer.from('x')));
    const acc = await b.next(EventType.Accept, id);
    expect(acc.a).toBe(0);
    b.engine.admit(id);
    expect((await b.next(EventType.Command, id)).bytes.toString()).toBe('x');
  });

  it('garbage after adopt is a protocol error of that connection only', async () => {
    const a = Harness.start();
    const b = Harness.start();
    const client = await Client.connect(a.port);
    client.write(command(1, 1, Buffer.from('j')));
    const accept = await a.next(EventType.Accept);
    a.engine.admit(accept.conn);
    await a.next(EventType.Command, accept.conn);
    const got = handover(a).detach(accept.conn)!;
    // A lead byte 0x00 then an unknown command (9): the parser fails on the adopted bytes.
    const id = handover(b).adopt(got.fd, Buffer.of(0, 9, 1, 0, 1, 2, 3), '127.0.0.1', client.localPort);
    closeSync(got.fd);
    await b.next(EventType.Accept, id);
    b.engine.admit(id);
    const closed = await b.next(EventType.Closed, id);
    expect(closed.a).toBe(2);
    expect(closed.bytes.toString()).toMatch(/GW_ERR_JOINT/);
    await client.waitClosed();
    // The engine goes on: a new client is served.
    const other = await b.accept(command(0, 1, Buffer.from('k')));
    expect((await b.next(EventType.Command, other.conn)).bytes.toString()).toBe('k');
  });

  it('refuses what it cannot give up whole: unknown, a WebSocket, output queued, not stopped at a command', async () => {
    const a = Harness.start();
    // Unknown, stale and never-given ids: null, nothing else.
    expect(handover(a).detach(1)).toBeNull();
    expect(handover(a).detach(12345)).toBeNull();
    expect(() => handover(a).detach(0)).toThrow(RangeError);
    // Parsing, not stopped: a connection that entered and runs.
    const owner = await a.owner('o');
    expect(handover(a).detach(owner.conn)).toBeNull();
    // Output queued that the client does not read: the backlog is not empty.
    const u = await a.accept(command(1, 1, Buffer.from('o')));
    await a.next(EventType.Command, u.conn);
    u.client.socket.pause();
    // More than loopback's socket buffers take, under maxOutboundBytes (16 MiB).
    const big = Buffer.alloc(4 << 20, 1);
    for (let i = 0; i < 3; i++) a.engine.send(u.conn, big);
    await a.statsUntil('a backlog', (s) => s.backlogBytes > 0);
    expect(handover(a).detach(u.conn)).toBeNull();
    // Nothing changed: the connection is still served.
    a.engine.resume(u.conn);
    u.client.socket.resume();
    await u.client.read(3 * big.length, 10_000);
    // A WebSocket: its bytes are in frames.
    const ws = await Client.connect(a.port);
    ws.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    const wsAccept = await a.next(EventType.Accept);
    expect(wsAccept.a).toBe(1);
    expect(handover(a).detach(wsAccept.conn)).toBeNull();
    expect(a.stats().connections).toBe(3);
  });

  it('adopt of something that is not a connected TCP socket throws with a code; nothing is taken', async () => {
    const b = Harness.start();
    const adopt = (fd: number): unknown => handover(b).adopt(fd, new Uint8Array(0), '127.0.0.1', 1);
    expect(() => adopt(987_654)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    const file = openSync('/dev/null', 'r');
    try {
      expect(() => adopt(file)).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }));
    } finally {
      closeSync(file);
    }
    // A TCP socket that is not connected: a listening one.
    const server = createServer();
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const listenFd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    expect(() => adopt(listenFd)).toThrow(expect.objectContaining({ code: 'ENOTCONN' }));
    expect(() => handover(b).adopt(-1, new Uint8Array(0), '127.0.0.1', 1)).toThrow(RangeError);
    expect(() => handover(b).adopt(3, new Uint8Array(0), 'x'.repeat(65), 1)).toThrow(RangeError);
    expect(() => handover(b).adopt(3, new Uint8Array(128 * 1024 + 1), '127.0.0.1', 1)).toThrow(RangeError);
    expect(() => handover(b).adopt(3, 'abc' as unknown as Uint8Array, '127.0.0.1', 1)).toThrow(TypeError);
    expect(b.stats().pendingConnections).toBe(0);
    // Not running: an error, and so is a stopped engine's detach a null.
    b.engine.stop();
    const client = await new Promise<Socket>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port }, () => resolve(s));
    });
    try {
      const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
      expect(() => adopt(fd)).toThrow(/not running/);
      expect(handover(b).detach(1)).toBeNull();
    } finally {
      client.destroy();
    }
  });

  it('a socket a Node server accepted is adopted, and its Node wrapper closed, without ending the connection', async () => {
    const b = Harness.start();
    const server = createServer({ pauseOnConnect: true });
    servers.push(server);
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = await Client.connect((server.address() as { port: number }).port);
    client.write(command(0, 3, Buffer.from('z')));
    const socket = await accepted;
    const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
    const id = handover(b).adopt(fd, new Uint8Array(0), socket.remoteAddress!, socket.remotePort!);
    expect(id).toBeGreaterThan(0);
    // Closing the wrapper closes only its descriptor: not a FIN, not a reset.
    socket.destroy();
    await b.next(EventType.Accept, id);
    b.engine.admit(id);
    expect((await b.next(EventType.Command, id)).bytes.toString()).toBe('z');
    b.engine.send(id, Uint8Array.of(0, 3, 3, 0, 0));
    b.engine.resume(id);
    expect(await client.read(5)).toEqual(Buffer.of(0, 3, 3, 0, 0));
    expect(client.closed).toBe(false);
  });
});
