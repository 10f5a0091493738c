import { describe, expect, it } from 'vitest';
import { Outbox } from '../../src/relay/outbox.js';
import type { ByteStream } from '../../src/transport/types.js';

function sink(kind: 'tcp' | 'websocket', bufferedBytes?: number) {
  const writes: Buffer[] = [];
  let flushes = 0;
  const stream = {
    kind,
    bufferedBytes,
    writeOwned: (d: Uint8Array) => writes.push(d as Buffer), // kept by reference, as a socket does
    write: () => {
      throw new Error('copying write used');
    },
    flush: () => flushes++,
  } as unknown as ByteStream;
  return { stream, writes, flushes: () => flushes };
}

function put(box: Outbox, bytes: number[]): void {
  const at = box.reserve(bytes.length);
  box.buf.set(bytes, at);
  box.commit(at + bytes.length);
}

describe('Outbox', () => {
  it('hands a byte stream one buffer per flush, growing across slabs without losing order', () => {
    const box = new Outbox(false);
    const s = sink('tcp');
    const big = Array.from({ length: 40_000 }, (_, i) => i & 0xff);
    put(box, [1, 2]);
    put(box, big);
    put(box, [3]);
    expect(box.pending).toBe(40_003);
    expect(box.flushTo(s.stream)).toBe(40_003);
    expect(s.writes).toHaveLength(1);
    expect([...s.writes[0]!.subarray(0, 3)]).toEqual([1, 2, 0]);
    expect(s.writes[0]![40_002]).toBe(3);
    expect(s.flushes()).toBe(1);
    expect(box.flushTo(s.stream)).toBe(0);
  });

  it('keeps units as separate messages for WebSocket peers', () => {
    const box = new Outbox(true);
    const s = sink('websocket');
    put(box, [0, 3, 1, 0, 0]);
    put(box, [3, 0, 0x41, 0x42]);
    box.flushTo(s.stream);
    expect(s.writes.map((w) => [...w])).toEqual([
      [0, 3, 1, 0, 0],
      [3, 0, 0x41, 0x42],
    ]);
  });

  it('queues shared buffers in order with its own bytes, and never rewrites handed-out bytes', () => {
    const box = new Outbox(false);
    const s = sink('tcp');
    put(box, [1]);
    const shared = Buffer.from([2, 2]);
    box.appendShared(shared);
    put(box, [3]);
    box.flushTo(s.stream);
    expect(Buffer.concat(s.writes).toString('hex')).toBe('01020203');
    const handed = s.writes[0]!;
    put(box, [9]);
    expect(handed[0]).toBe(1);
  });

  it('reuses its slab once a raw-TCP socket has nothing unsent, and only then', () => {
    const drained = new Outbox(false);
    const s = sink('tcp', 0);
    put(drained, [1, 2, 3]);
    drained.flushTo(s.stream);
    const slab = drained.buf;
    put(drained, [4]);
    expect(drained.buf).toBe(slab);
    expect(s.writes[0]!.byteOffset).toBe(slab.byteOffset);
    // Written again from its start: the socket had taken the bytes (a kernel copies on write).
    expect(slab[0]).toBe(4);

    const backlogged = new Outbox(false);
    const b = sink('tcp', 10);
    put(backlogged, [1, 2, 3]);
    backlogged.flushTo(b.stream);
    put(backlogged, [4]);
    expect([...b.writes[0]!]).toEqual([1, 2, 3]);

    const ws = new Outbox(true);
    const w = sink('websocket', 0);
    put(ws, [1, 2, 3]);
    ws.flushTo(w.stream);
    put(ws, [4]);
    expect([...w.writes[0]!]).toEqual([1, 2, 3]);
  });
});
