import { describe, expect, it } from 'vitest';
import { HeldMessages } from '../../src/mm/held-messages.js';

describe('HeldMessages', () => {
  it('keeps messages in order across growth and partial drains', () => {
    const held = new HeldMessages();
    const all: number[][] = [];
    for (let i = 0; i < 3000; i++) {
      const m = Array.from({ length: (i % 7) + 1 }, (_, k) => (i + k) & 0xff);
      all.push(m);
      held.add(Uint8Array.from([9, ...m, 9]), 1, m.length);
      if (i % 500 === 499) {
        // take a few, then keep adding: the buffer compacts
        let n = 0;
        held.drain((b, o, l) => {
          if (n++ === 100) return false;
          expect([...b.subarray(o, o + l)]).toEqual(all.shift());
          return true;
        });
      }
    }
    expect(held.count).toBe(all.length);
    expect(held.byteLength).toBe(all.reduce((s, m) => s + m.length, 0));
    held.drain((b, o, l) => {
      expect([...b.subarray(o, o + l)]).toEqual(all.shift());
      return true;
    });
    expect(all.length).toBe(0);
    expect(held.count).toBe(0);
    expect(held.byteLength).toBe(0);
  });
});
