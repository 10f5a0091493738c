/**
 * The node link's envelope without NATS: every record type written by a LinkChannel comes back
 * field for field through decodeRecords, every truncation is Truncated (never a throw, never a
 * read past the end), and bad types and fields are refused.
 */
import { describe, expect, it } from 'vitest';
import { BATCH_HEAD_BYTES, decodeRecords, EnvelopeError, NodeLink, RecordType, type NodeRef } from '../../src/cluster/index.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { RecordingHandler } from './harness.js';
import { FLAG_RESEND, FLAG_RESTART } from '../../src/cluster/envelope.js';

/** A NATS stand-in that keeps what is published. */
function capture(): { nc: NatsConnection; published: { subject: string; data: Uint8Array }[] } {
  const published: { subject: string; data: Uint8Array }[] = [];
  const nc = {
    publish(subject: string, data: Uint8Array) {
      published.push({ subject, data: Uint8Array.from(data) });
    },
    subscribe() {
      return { unsubscribe() {} };
    },
    isClosed: () => false,
  } as unknown as NatsConnection;
  return { nc, published };
}

const OPTIONS = { cluster: 't', maxBatchBytes: 64 * 1024, windowBytes: 1 << 20, highWaterBytes: 2 << 20, lowWaterBytes: 1 << 19, maxBufferedBytes: 16 << 20, stallTimeoutMs: 0, resendMs: 200 };
const A: NodeRef = { nodeId: 'node-a', epoch: 1111 };
const B: NodeRef = { nodeId: 'node-b', epoch: 2222 };

function allRecords(): Uint8Array {
  const { nc, published } = capture();
  const link = new NodeLink(nc, A, new RecordingHandler(), OPTIONS);
  const ch = link.channel(B);
  const data = Buffer.from('hello');
  ch.enter(7, 0xfffffffe, Buffer.from('room-1'));
  ch.enter(8, 3, new Uint8Array(0), true);
  ch.enterOk(7, 42, 255);
  ch.enterErr(8, 4);
  ch.leave(42, 3);
  ch.userGone(42, 4);
  ch.toOwner(42, 5, data, 1, 3);
  ch.toUser(0x01020304, data, 0, 5);
  ch.broadcast(42, 9, data, 0, 2);
  ch.broadcast(42, -1, data, 4, 1);
  ch.kick(99);
  ch.jointGone(42, 1);
  ch.pauseJoint(42);
  ch.resumeJoint(42);
  ch.toOwner(1, 0, new Uint8Array(0), 0, 0);
  link.flush();
  expect(published).toHaveLength(1);
  expect(published[0]!.subject).toBe('t.n.node-b');
  return published[0]!.data;
}

describe('node link envelope', () => {
  it('round-trips every record type in one batch, in order', () => {
    const batch = allRecords();
    expect(batch[0]).toBe(1);
    expect(batch[26]).toBe(A.nodeId.length);
    const head = BATCH_HEAD_BYTES + A.nodeId.length;
    const handler = new RecordingHandler();
    expect(decodeRecords(A, batch, head, batch.length, handler)).toBe(EnvelopeError.Ok);
    expect(handler.records.map((r) => [r.type, ...r.fields, r.data?.toString('latin1')])).toEqual([
      ['enter', 7, 0xfffffffe, 0, 'room-1'],
      ['enter', 8, 3, 1, ''],
      ['enterOk', 7, 42, 255, undefined],
      ['enterErr', 8, 4, undefined],
      ['leave', 42, 3, undefined],
      ['userGone', 42, 4, undefined],
      ['toOwner', 42, 5, 'ell'],
      ['toUser', 0x01020304, 'hello'],
      ['broadcast', 42, 9, 'he'],
      ['broadcast', 42, -1, 'o'],
      ['kick', 99, undefined],
      ['jointGone', 42, 1, undefined],
      ['pauseJoint', 42, undefined],
      ['resumeJoint', 42, undefined],
      ['toOwner', 1, 0, ''],
    ]);
    for (const r of handler.records) expect(r.from).toBe('node-a');
  });

  it('reports every truncation as Truncated, delivering only whole records', () => {
    const batch = allRecords();
    const head = BATCH_HEAD_BYTES + A.nodeId.length;
    const full = new RecordingHandler();
    decodeRecords(A, batch, head, batch.length, full);
    // Record boundaries: cut anywhere else and the decoder stops at the last whole record.
    for (let end = head; end < batch.length; end++) {
      const handler = new RecordingHandler();
      const result = decodeRecords(A, batch, head, end, handler);
      expect(handler.records.length).toBeLessThan(full.records.length);
      if (result === EnvelopeError.Ok) continue; // end fell on a record boundary
      expect(result).toBe(EnvelopeError.Truncated);
    }
  });

  it('refuses an unknown type and out-of-range fields after delivering what came before', () => {
    const handler = new RecordingHandler();
    expect(decodeRecords(A, Uint8Array.from([RecordType.Kick, 1, 0, 0, 0, 0x00]), 0, 6, handler)).toBe(EnvelopeError.UnknownType);
    expect(handler.records).toHaveLength(1);
    expect(decodeRecords(A, Uint8Array.from([0x0d]), 0, 1, handler)).toBe(EnvelopeError.UnknownType);
    expect(decodeRecords(A, Uint8Array.from([RecordType.JointGone, 1, 0, 0, 0, 2]), 0, 6, handler)).toBe(EnvelopeError.BadField);
    expect(decodeRecords(A, Uint8Array.from([RecordType.Enter, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0]), 0, 11, handler)).toBe(EnvelopeError.BadField);
    expect(decodeRecords(A, Uint8Array.from([RecordType.Broadcast, 1, 0, 0, 0, 0x00, 0x01, 1, 0, 0x41]), 0, 10, handler)).toBe(EnvelopeError.BadField);
    expect(handler.records).toHaveLength(1);
  });

  it('throws RangeError on misuse: a view past the data, more than 65535 bytes, an id over 255 bytes', () => {
    const { nc } = capture();
    const ch = new NodeLink(nc, A, new RecordingHandler(), OPTIONS).channel(B);
    expect(() => ch.toOwner(1, 0, new Uint8Array(4), 2, 3)).toThrow(RangeError);
    expect(() => ch.toUser(1, new Uint8Array(70_000), 0, 70_000)).toThrow(RangeError);
    expect(() => ch.enter(1, 1, new Uint8Array(256))).toThrow(RangeError);
  });

  it('seals a batch at maxBatchBytes within one tick and numbers batches in order', () => {
    const { nc, published } = capture();
    const link = new NodeLink(nc, A, new RecordingHandler(), { ...OPTIONS, maxBatchBytes: 1024 });
    const ch = link.channel(B);
    const data = new Uint8Array(100);
    for (let i = 0; i < 50; i++) ch.toOwner(i, 0, data, 0, data.length);
    const sealedInTick = published.length;
    link.flush();
    expect(sealedInTick).toBeGreaterThanOrEqual(4);
    const seqs = published.map((p) => Buffer.from(p.data).readUInt32LE(18));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    for (const p of published) expect(p.data.length).toBeLessThanOrEqual(1024 + 108);
  });

  it('asks for a missing batch again instead of delivering past it, and gets it', () => {
    /** A NATS stand-in that keeps what is published and lets the test deliver to the subscriber. */
    const endpoint = () => {
      const published: Uint8Array[] = [];
      let deliver: ((data: Uint8Array) => void) | null = null;
      const nc = {
        publish(_s: string, data: Uint8Array) {
          published.push(Uint8Array.from(data));
        },
        subscribe(_s: string, opts: { callback: (err: null, msg: { data: Uint8Array }) => void }) {
          deliver = (data) => opts.callback(null, { data });
          return { unsubscribe() {} };
        },
        isClosed: () => false,
      } as unknown as NatsConnection;
      return { nc, published, deliver: (data: Uint8Array) => deliver!(data) };
    };
    const a = endpoint();
    const b = endpoint();
    const sender = new NodeLink(a.nc, A, new RecordingHandler(), OPTIONS);
    sender.start();
    const ch = sender.channel(B);
    for (let i = 0; i < 3; i++) {
      ch.toOwner(i, 0, Buffer.from([i]), 0, 1);
      sender.flush();
    }
    const sent = a.published.splice(0);
    const handler = new RecordingHandler();
    const receiver = new NodeLink(b.nc, B, handler, OPTIONS);
    receiver.start();
    const gaps: number[] = [];
    receiver.on('gap', (_peer, lost) => gaps.push(lost));
    b.deliver(sent[0]!);
    // Batch 2 lost (NATS across a reconnect): batch 3 is not delivered past it, and 2 is asked for.
    b.deliver(sent[2]!);
    b.deliver(sent[2]!);
    expect(gaps).toEqual([1]);
    expect(receiver.stats.gaps).toBe(2);
    expect(receiver.stats.resendRequests).toBe(1);
    expect(handler.records.map((r) => r.fields[0])).toEqual([0]);
    const request = b.published.splice(0);
    expect(request).toHaveLength(1);
    expect(request[0]![1]! & FLAG_RESEND).toBe(FLAG_RESEND);
    expect(Buffer.from(request[0]!).readUInt32LE(18)).toBe(2);
    // The sender sends batches 2 and 3 again, which arrive in order; a second ask at once is not served twice.
    a.deliver(request[0]!);
    a.deliver(request[0]!);
    expect(sender.stats.resentBatches).toBe(2);
    for (const batch of a.published.splice(0)) b.deliver(batch);
    expect(handler.records.map((r) => r.fields[0])).toEqual([0, 1, 2]);
    // The old copy of batch 3 arriving late is a duplicate.
    b.deliver(sent[2]!);
    expect(receiver.stats.duplicateBatches).toBe(1);
    expect(handler.records).toHaveLength(3);
    // A batch addressed to another incarnation of B is stale, not delivered.
    const other = new NodeLink(a.nc, A, new RecordingHandler(), OPTIONS);
    other.channel({ nodeId: 'node-b', epoch: 1 }).kick(1);
    other.flush();
    b.deliver(a.published.at(-1)!);
    expect(receiver.stats.staleBatches).toBe(1);
    expect(handler.records).toHaveLength(3);
    receiver.close();
    sender.close();
  });

  it('lets a channel that replaced a dropped one go on where it left off, without waiting for what was discarded', () => {
    const endpoint = () => {
      const published: Uint8Array[] = [];
      let deliver: ((data: Uint8Array) => void) | null = null;
      const nc = {
        publish(_s: string, data: Uint8Array) {
          published.push(Uint8Array.from(data));
        },
        subscribe(_s: string, opts: { callback: (err: null, msg: { data: Uint8Array }) => void }) {
          deliver = (data) => opts.callback(null, { data });
          return { unsubscribe() {} };
        },
        isClosed: () => false,
      } as unknown as NatsConnection;
      return { nc, published, deliver: (data: Uint8Array) => deliver!(data) };
    };
    const a = endpoint();
    const b = endpoint();
    const sender = new NodeLink(a.nc, A, new RecordingHandler(), OPTIONS);
    sender.start();
    const handler = new RecordingHandler();
    const receiver = new NodeLink(b.nc, B, handler, OPTIONS);
    receiver.start();
    let ch = sender.channel(B);
    for (let i = 0; i < 3; i++) {
      ch.toOwner(i, 0, Buffer.from([i]), 0, 1);
      sender.flush();
    }
    const old = a.published.splice(0);
    b.deliver(old[0]!);
    // The sender's link to B fails (say, overflow): the relay drops the channel and tells B
    // what ended on a new one. Batches 2 and 3 are discarded, never to come.
    sender.drop(B.nodeId, B.epoch);
    ch = sender.channel(B);
    ch.jointGone(7, 1);
    sender.flush();
    const fresh = a.published.splice(0);
    expect(fresh).toHaveLength(1);
    expect(fresh[0]![1]! & FLAG_RESTART).toBe(FLAG_RESTART);
    expect(Buffer.from(fresh[0]!).readUInt32LE(18)).toBe(4);
    b.deliver(fresh[0]!);
    expect(handler.records.map((r) => r.type)).toEqual(['toOwner', 'jointGone']);
    // An old batch still on its way is behind the new sequence: dropped.
    b.deliver(old[1]!);
    expect(receiver.stats.duplicateBatches).toBe(1);
    expect(receiver.stats.gaps).toBe(0);
    // B's ack of batch 4 ends the restart: the next batch is an ordinary one.
    receiver.flush();
    for (const ack of b.published.splice(0)) a.deliver(ack);
    expect(ch.restartFrom).toBe(-1);
    ch.kick(3);
    sender.flush();
    const next = a.published.splice(0);
    expect(next[0]![1]! & FLAG_RESTART).toBe(0);
    b.deliver(next[0]!);
    expect(handler.records.map((r) => r.type)).toEqual(['toOwner', 'jointGone', 'kick']);
    receiver.close();
    sender.close();
  });
});
