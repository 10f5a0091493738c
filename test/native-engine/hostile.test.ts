/**
 * Hostile input against the native relay engine (issue 19): peers sending seeded random bytes,
 * random joint units and random control-plane churn (enters, leaves, own(false), closes) while a
 * well-behaved owner and user exchange data. The engine must not crash (the ASan run of this
 * file is the point), every bad peer ends with a reason, and the good pair gets every byte.
 * Skips (loudly) without the native engine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { prng } from '../helpers/prng.js';
import { cleanup, Client, EventType, frame, Harness, SKIP_REASON } from './harness.js';

afterEach(cleanup);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(SKIP_REASON !== null)(`native relay engine: hostile peers${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  it('random bytes and random units from 12 peers end only those peers; a good pair is unaffected', async () => {
    const rand = prng(19);
    const h = Harness.start({ maxOutboundBytes: 512 * 1024, outboundHighWaterBytes: 64 * 1024, outboundLowWaterBytes: 16 * 1024 });
    const owner = await h.owner('good');
    const user = await h.user(owner.conn, 'good', 0, 0, 0);
    const bad: { client: Client; conn: number }[] = [];
    for (let i = 0; i < 12; i++) {
      // A valid first unit, so each is ACCEPTed; what follows is hostile.
      bad.push(await h.accept(Buffer.of(0, 0, 1, 1, 0x61 + i)));
    }
    const known = new Set(bad.map((b) => b.conn));
    // Play a careless control plane: resume every command, route bad peers at random.
    let stopPump = false;
    const pump = (async () => {
      while (!stopPump) {
        for (let i = 0; i < h.events.length; i++) {
          const e = h.events[i]!;
          if (!known.has(e.conn)) continue;
          h.events.splice(i--, 1);
          if (e.type === EventType.Command) {
            const peers = [...known];
            const other = peers[Math.floor(rand() * peers.length)]!;
            const r = rand();
            if (r < 0.4) h.engine.enter(e.conn, Math.floor(rand() * 128), other, Math.floor(rand() * 128), Math.floor(rand() * 256));
            else if (r < 0.5) h.engine.own(e.conn, Math.floor(rand() * 128), rand() < 0.7);
            else if (r < 0.6) h.engine.leave(e.conn, Math.floor(rand() * 128));
            else if (r < 0.65) h.engine.enter(e.conn, 0, owner.conn, 0, 1 + Math.floor(rand() * 255));
            else if (r < 0.68) h.engine.close(e.conn, 2);
            h.engine.send(e.conn, Uint8Array.of(0, 3, e.b, 0, 0));
            h.engine.resume(e.conn);
          }
          if (e.type === EventType.Closed) known.delete(e.conn);
        }
        await sleep(2);
      }
    })();
    const good = Buffer.alloc(50_000);
    for (let i = 0; i < good.length; i++) good[i] = Math.floor(rand() * 256);
    for (let round = 0; round < 40; round++) {
      for (const b of bad) {
        if (b.client.closed) continue;
        const n = 1 + Math.floor(rand() * 200);
        const bytes = Buffer.alloc(n);
        for (let i = 0; i < n; i++) bytes[i] = Math.floor(rand() * 256);
        // Mostly plausible units (commands, frames, broadcast prefixes), some pure noise.
        const kind = rand();
        if (kind < 0.3) b.client.write(Buffer.concat([Buffer.of(0, Math.floor(rand() * 5), Math.floor(rand() * 256), Math.min(n, 255)), bytes.subarray(0, 255)]));
        else if (kind < 0.6) b.client.write(frame(bytes));
        else if (kind < 0.75) b.client.write(Buffer.concat([Buffer.of(1, Math.floor(rand() * 2)), frame(Buffer.concat([Buffer.of(0x80 | Math.floor(rand() * 128)), bytes]))]));
        else b.client.write(bytes);
      }
      const piece = good.subarray(round * 1250, (round + 1) * 1250);
      user.client.write(frame(Buffer.concat([Buffer.of(0), piece])));
      owner.client.write(frame(Buffer.concat([Buffer.of(0x80, 0), piece])));
      await sleep(5);
    }
    const atOwner = await owner.client.readData(good.length, 10_000);
    const fromUser0 = Buffer.concat(atOwner.filter((u) => u.a === 0x80 && u.b === 0).map((u) => u.data));
    expect(fromUser0.equals(good)).toBe(true);
    const atUser = await user.client.readData(good.length, 10_000);
    expect(Buffer.concat(atUser.map((u) => u.data)).equals(good)).toBe(true);
    stopPump = true;
    await pump;
    const s = h.stats();
    expect(s.protocol_error).toBeGreaterThan(0);
    expect(owner.client.closed || user.client.closed).toBe(false);
    // Every peer still open is one the engine knows; the rest ended with a reason.
    h.engine.stop();
    expect(h.stats().connections).toBe(0);
  });

  it('a storm of connections that never send is bounded by the login timeout', async () => {
    const h = Harness.start({ loginTimeoutMs: 200 });
    const clients = await Promise.all(Array.from({ length: 50 }, () => Client.connect(h.port)));
    await h.statsUntil('50 pending', (s) => s.pendingConnections === 50);
    await Promise.all(clients.map((c) => c.waitClosed(3000)));
    const s = await h.statsUntil('no pending', (s) => s.pendingConnections === 0);
    expect(s.loginTimeouts).toBe(50);
    // Each was told at CONNECT and at its end (the control plane releases its admission), never ACCEPTed.
    await h.statsUntil('every event delivered', () => h.events.length === 100);
    expect(h.events.filter((e) => e.type === EventType.Connect)).toHaveLength(50);
    expect(h.events.filter((e) => e.type === EventType.Closed && e.a === 8)).toHaveLength(50);
  });
});
