import { describe, expect, it } from 'vitest';
import { pythonTimestamp, Uuid1Generator } from '../../src/events/ids.js';

const UUID1 = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('Uuid1Generator', () => {
  it('makes RFC 4122 version-1 text whose time field is the given time', () => {
    const g = new Uuid1Generator();
    const ms = Date.UTC(2026, 10, 22, 20, 37, 19, 588);
    const id = g.next(ms);
    expect(id).toMatch(UUID1);
    const [low, mid, hi] = id.split('-');
    const ticks = (BigInt(`0x${hi!.slice(1)}`) << 48n) | (BigInt(`0x${mid}`) << 32n) | BigInt(`0x${low}`);
    expect(Number(ticks / 10_000n - 12_219_292_800_000n)).toBe(ms);
  });

  it('stays unique within one millisecond and across a clock step back', () => {
    const g = new Uuid1Generator();
    const ids = new Set<string>();
    for (let i = 0; i < 20_005; i++) ids.add(g.next(1000));
    ids.add(g.next(999));
    ids.add(g.next(1000));
    expect(ids.size).toBe(20_007);
  });

  it('sets the multicast bit of the random node id (no MAC address)', () => {
    const node = new Uuid1Generator().next().slice(24);
    expect(parseInt(node.slice(0, 2), 16) & 1).toBe(1);
  });
});

describe('pythonTimestamp', () => {
  it('writes local time as str(datetime.now()), microseconds only when not zero', () => {
    const d = new Date(2026, 10, 22, 20, 37, 19, 588);
    expect(pythonTimestamp(d.getTime() + 0.732)).toBe('2026-11-22 20:37:19.588732');
    expect(pythonTimestamp(new Date(2026, 0, 2, 3, 4, 5, 0).getTime())).toBe('2026-01-02 03:04:05');
    expect(pythonTimestamp(new Date(2026, 0, 2, 3, 4, 5, 0).getTime() + 0.001)).toBe('2026-01-02 03:04:05.000001');
  });

  it('defaults to now', () => {
    expect(pythonTimestamp()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/);
  });
});
