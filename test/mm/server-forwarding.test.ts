/**
 * Issue 13 in the mm style: an application that forwards what it receives (a broadcast per
 * RECEIVE) cannot be made by one flooding peer to overflow a client that reads at a fair pace.
 * The flooder's intake is cut (maxQueuedBytes, and congestedQueuedBytes while a receiver is
 * congested), so it is the one slowed; the good client keeps its connection and every byte.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { Server, Client, EventType, type ServerOptions } from '../../src/mm/index.js';
import { frame, hello, rawSocket, sleep } from './helpers.js';

const servers: Server[] = [];
const clients: Client[] = [];
const sockets: Socket[] = [];
const timers: NodeJS.Timeout[] = [];
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of servers.splice(0)) await s.close();
});

/** One DATA frame (docs/protocol.md) of `count` messages `{d: <size bytes of 'x'>}` (size < 65536). */
function bigMessages(count: number, size: number): Buffer {
  const table = Buffer.concat([Buffer.of(0x81, 0xa1, 0x64, 0xda, size >> 8, size & 0xff), Buffer.alloc(size, 0x78)]);
  const parts: Buffer[] = [Buffer.of(0x10)];
  for (let i = 0; i < count; i++) {
    // Chunk prefix (joint.md §10 varint, N = 4) of the message length - 1, then the message.
    const prefix: number[] = [];
    let rest = table.length - 1;
    while (prefix.length < 3 && rest >= 0x80) {
      prefix.push((rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    prefix.push(rest);
    parts.push(Buffer.from(prefix), table);
  }
  return frame(Buffer.concat(parts));
}

/** Read `socket` at about `bytesPerSec` (pausing it past the budget), discarding the bytes. */
function readSlowly(socket: Socket, bytesPerSec: number): void {
  let budget = bytesPerSec / 20;
  socket.removeAllListeners('data');
  socket.on('data', (d: Buffer) => {
    budget -= d.length;
    if (budget <= 0) socket.pause();
  });
  timers.push(
    setInterval(() => {
      budget = Math.min(budget + bytesPerSec / 20, bytesPerSec / 10);
      if (budget > 0 && socket.isPaused()) socket.resume();
    }, 50),
  );
}

/**
 * A forwarding server: every 20 ms it polls and broadcasts each message it received to everyone.
 * A good client sends a numbered message every 50 ms and must see each come back, in order; a
 * second good peer reads at a fair 4 MB/s; a raw peer writes 32 KiB messages as fast as TCP
 * allows (reading and discarding what it gets, so it is not itself a slow reader).
 */
async function run(options: ServerOptions): Promise<{ goodClosed: string | null; echoed: number[]; sent: number; drops: string[] }> {
  const server = await Server.listen('127.0.0.1', 0, undefined, { ownQueue: true, ...options });
  servers.push(server);
  let goodClosed: string | null = null;
  const drops: string[] = [];
  timers.push(
    setInterval(() => {
      for (const ev of server.pollEvents()) {
        if (ev.type === EventType.RECEIVE) server.broadcast(ev.packet);
        if (ev.type === EventType.CLIENT_CLOSE) drops.push(ev.reason);
      }
    }, 20),
  );
  const good = new Client('127.0.0.1', server.getPort(), undefined, { ownQueue: true });
  clients.push(good);
  expect((await good.waitForConnect(3))[0]).toBe(true);
  const echoed: number[] = [];
  timers.push(
    setInterval(() => {
      for (const ev of good.pollEvents()) {
        if (ev.type === EventType.RECEIVE && typeof (ev.packet as { n?: unknown }).n === 'number') echoed.push((ev.packet as { n: number }).n);
        if (ev.type === EventType.SERVER_CLOSE || ev.type === EventType.ERROR) goodClosed ??= 'reason' in ev ? ev.reason : ev.error;
      }
    }, 10),
  );
  const steady = await rawSocket(server.getPort());
  sockets.push(steady);
  steady.write(hello());
  readSlowly(steady, 4_000_000);
  const flooder = await rawSocket(server.getPort());
  sockets.push(flooder);
  flooder.removeAllListeners('data');
  flooder.on('data', () => {});
  flooder.write(hello());
  await sleep(100);
  // Eight frames of one 32 KiB message each (a frame is at most 64 KiB).
  const one = bigMessages(1, 32 * 1024);
  const burst = Buffer.concat([one, one, one, one, one, one, one, one]);
  let flooding = true;
  const pump = (): void => {
    while (flooding && !flooder.gone) if (!flooder.write(burst)) return void flooder.once('drain', pump);
  };
  pump();
  let sent = 0;
  const end = Date.now() + 3000;
  while (Date.now() < end && goodClosed === null) {
    good.send({ n: sent++ });
    await sleep(50);
  }
  flooding = false;
  const settle = Date.now() + 5000;
  while (echoed.length < sent && goodClosed === null && Date.now() < settle) await sleep(20);
  return { goodClosed, echoed, sent, drops };
}

describe('Server: a forwarding application under a flood (issue 13)', () => {
  it('slows the flooder; the good client keeps its connection and sees every echo in order', async () => {
    const r = await run({});
    expect(r.goodClosed).toBeNull();
    expect(r.drops).toEqual([]);
    expect(r.echoed).toEqual(Array.from({ length: r.sent }, (_, i) => i));
  }, 20_000);

  it('without the intake caps the same flood overflows the good client (the control case)', async () => {
    const r = await run({ maxQueuedBytes: 0, sendHighWaterBytes: 0 });
    expect(r.drops.some((reason) => /overflow/.test(reason))).toBe(true);
  }, 20_000);
});
