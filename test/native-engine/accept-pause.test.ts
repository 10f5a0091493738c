/**
 * The cap on events in flight to JavaScript (engine-limits.h kMaxEventsInFlight, 65536; lowered
 * here with the config's `maxEventsInFlight`): while JavaScript does not take the engine's events,
 * accepting pauses past the cap (the kernel's listen backlog holds the sockets), and resumes once
 * JavaScript has handled them. The JavaScript thread is blocked (Atomics.wait) while a worker
 * thread connects the sockets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { cleanup, EventType, Harness, SKIP_REASON } from './harness.js';

const SOCKETS = 200;
const CAP = 4;
/** Sockets the engine may accept past the cap: the events of one loop turn (kAcceptsPerTurn). */
const ACCEPTS_PER_TURN = 64;

afterEach(cleanup);

/** A worker that connects `SOCKETS` sockets to `port` and holds them until told to stop. */
function connector(port: number, done: Int32Array): Worker {
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { connect } = require('node:net');
    const { port, count, done } = workerData;
    const sockets = [];
    for (let i = 0; i < count; i++) {
      const s = connect({ port, host: '127.0.0.1' });
      s.on('error', () => {});
      s.once('connect', () => { Atomics.add(done, 0, 1); Atomics.notify(done, 0); });
      sockets.push(s);
    }
    parentPort.on('message', () => { for (const s of sockets) s.destroy(); parentPort.close(); });
  `;
  return new Worker(code, { eval: true, workerData: { port, count: SOCKETS, done } });
}

/**
 * Block this thread (the engine's events are not taken) until the worker has connected every
 * socket, then `settleMs` longer so the engine could accept them all if it were not paused.
 * @returns the engine's sockets accepted at the end of the block (pending: none sent a byte).
 */
function blockWhileConnecting(h: Harness, done: Int32Array, settleMs: number): number {
  const deadline = Date.now() + 5000;
  while (Atomics.load(done, 0) < SOCKETS && Date.now() < deadline) Atomics.wait(done, 0, Atomics.load(done, 0), 50);
  expect(Atomics.load(done, 0)).toBe(SOCKETS);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, settleMs);
  return h.stats().pendingConnections;
}

describe.skipIf(SKIP_REASON !== null)('accepting pauses past the events in flight (kMaxEventsInFlight)', () => {
  it('pauses while JavaScript does not take events, and accepts the rest once it does', async () => {
    const h = Harness.start({ maxEventsInFlight: CAP });
    const done = new Int32Array(new SharedArrayBuffer(4));
    const worker = connector(h.port, done);
    try {
      await new Promise((r) => worker.once('online', r));
      const acceptedWhileBlocked = blockWhileConnecting(h, done, 400);
      expect(acceptedWhileBlocked).toBeGreaterThan(0);
      expect(acceptedWhileBlocked).toBeLessThanOrEqual(CAP + ACCEPTS_PER_TURN);
      // JavaScript takes the events now: accepting resumes (the listener is looked at again within
      // kAcceptBackoffMs) and every socket is reported, however many batches that takes.
      const all = await h.statsUntil('every socket accepted', (s) => s.pendingConnections === SOCKETS, 5000);
      expect(all.refusedPending).toBe(0);
      await new Promise((r) => setTimeout(r, 20));
      expect(h.events.filter((e) => e.type === EventType.Connect)).toHaveLength(SOCKETS);
    } finally {
      worker.postMessage('stop');
      await worker.terminate();
    }
  });

  it('accepts them all meanwhile under the default cap (65536)', async () => {
    const h = Harness.start();
    const done = new Int32Array(new SharedArrayBuffer(4));
    const worker = connector(h.port, done);
    try {
      await new Promise((r) => worker.once('online', r));
      expect(blockWhileConnecting(h, done, 400)).toBe(SOCKETS);
    } finally {
      worker.postMessage('stop');
      await worker.terminate();
    }
  });
});
