import { describe, expect, it } from 'vitest';
import { Inbox } from '../../src/udp/inbox.js';

describe('Inbox', () => {
  it('keeps datagrams within both bounds and drains them oldest first', () => {
    const inbox = new Inbox(2, 5);
    expect(inbox.push(null, Buffer.from('abc'), '127.0.0.1', 1)).toBe(true);
    expect(inbox.push(null, Buffer.from('def'), '127.0.0.1', 2)).toBe(false); // 6 bytes > 5
    expect(inbox.push(null, Buffer.from('de'), '127.0.0.1', 3)).toBe(true);
    expect(inbox.push(null, Buffer.alloc(0), '127.0.0.1', 4)).toBe(false); // 3 entries > 2
    const ports: number[] = [];
    expect(inbox.drain((e) => ports.push(e.port))).toBe(2);
    expect(ports).toEqual([1, 3]);
    expect(inbox.push(null, Buffer.from('abcde'), '127.0.0.1', 5)).toBe(true); // bytes were released
  });

  it('wait() resolves on a push, at once when closed, and on clear()', async () => {
    const inbox = new Inbox(10, 100);
    await inbox.wait(5, true);
    const pushed = inbox.wait(60_000, false);
    inbox.push(null, Buffer.from('x'), '127.0.0.1', 1);
    await pushed;
    await inbox.wait(60_000, false); // one waits already: at once
    inbox.drain(() => undefined);
    const cleared = inbox.wait(Number.POSITIVE_INFINITY, false);
    inbox.clear();
    await cleared;
  });
});
