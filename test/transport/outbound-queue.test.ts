import { describe, expect, it, vi } from 'vitest';
import { OutboundQueue } from '../../src/transport/outbound-queue.js';

describe('OutboundQueue', () => {
  it('copies on write, keeps owned chunks, and takes them all in order', () => {
    const q = new OutboundQueue({});
    const reused = Uint8Array.of(1, 2);
    q.write(reused);
    reused[0] = 9;
    const owned = Uint8Array.of(3);
    q.writeOwned(owned);
    q.write(new Uint8Array(0));
    expect(q.bytes).toBe(3);
    const chunks = q.take()!;
    expect(chunks.map((c) => [...c])).toEqual([[1, 2], [3]]);
    expect(chunks[1]).toBe(owned);
    expect(q.bytes).toBe(0);
    expect(q.take()).toBeNull();
  });

  it('gives a last-write callback only when the owner has onWritten, silent once closed', () => {
    const owner: { onWritten?: () => void } = {};
    const q = new OutboundQueue(owner);
    expect(q.lastWriteCallback()).toBeUndefined();
    owner.onWritten = vi.fn();
    const done = q.lastWriteCallback()!;
    expect(q.lastWriteCallback()).toBe(done); // made once, not per flush
    done();
    expect(owner.onWritten).toHaveBeenCalledTimes(1);
    q.close();
    done();
    expect(owner.onWritten).toHaveBeenCalledTimes(1);
    q.write(Uint8Array.of(1));
    expect(q.take()).toBeNull();
  });
});
