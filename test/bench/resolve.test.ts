/**
 * resolveOptions (src/bench/resolve.ts): the documented defaults, and every bad option thrown at
 * once as a GamewireTypeError / GamewireRangeError naming it.
 */
import { describe, expect, it } from 'vitest';
import { GamewireRangeError, GamewireTypeError } from '../../src/core/errors.js';
import { bench, resolveOptions, STAMP_BYTES, type BenchOptions } from '../../src/bench/index.js';

const BASE = { kind: 'relay', host: '127.0.0.1', port: 7680 } as const;

describe('resolveOptions', () => {
  it('applies the documented defaults', () => {
    expect(resolveOptions(BASE)).toEqual({
      kind: 'relay', host: '127.0.0.1', port: 7680, mode: 'users-to-owner', users: 10, joints: 1,
      size: { min: 64, max: 64 }, ws: false, key: null, token: null, window: 16, rate: null, durationSec: 10,
      warmupSec: 1, drainMs: 2000, frameTimeoutMs: 5000, workers: 0, connectTimeoutMs: 10000,
      verify: 'full',
    });
    expect(resolveOptions({ ...BASE, kind: 'mm' }).mode).toBe('c2s');
    expect(resolveOptions({ ...BASE, kind: 'udp' }).mode).toBe('c2s');
    expect(resolveOptions({ ...BASE, kind: 'events' }).mode).toBe('event');
  });

  it('keeps what is given; rate makes the loop open (window null)', () => {
    const r = resolveOptions({ ...BASE, kind: 'mm', mode: 'echo', key: 'ab'.repeat(16), users: 3, size: { min: STAMP_BYTES, max: 100 }, rate: 50, window: 4, durationSec: 1.5, warmupSec: 0, workers: 2 });
    expect(r).toMatchObject({ mode: 'echo', key: 'ab'.repeat(16), users: 3, size: { min: 24, max: 100 }, rate: 50, window: null, durationSec: 1.5, warmupSec: 0, workers: 2 });
  });

  const RANGE: Array<[string, Partial<Record<keyof BenchOptions, unknown>>]> = [
    ['kind', { kind: 'http' }],
    ['mode', { mode: 'c2s' }],
    ['mode', { kind: 'udp', mode: 'broadcast' }],
    ['mode', { kind: 'events', mode: 'echo' }],
    ['host', { host: '' }],
    ['port', { port: 0 }],
    ['port', { port: 65536 }],
    ['port', { port: 1.5 }],
    ['users', { users: 0 }],
    ['users', { users: 100_001 }],
    ['joints', { joints: 0 }],
    ['joints', { kind: 'mm', joints: 2 }],
    ['size', { size: STAMP_BYTES - 1 }],
    ['size.min', { size: { min: 10, max: 100 } }],
    ['size.min', { size: { min: 100, max: 50 } }],
    ['window', { window: 0 }],
    ['window', { window: 65536, users: 100, joints: 1 }],
    ['rate', { rate: 0 }],
    ['rate', { rate: Infinity }],
    ['durationSec', { durationSec: 0 }],
    ['durationSec', { durationSec: 3601 }],
    ['warmupSec', { warmupSec: -1 }],
    ['drainMs', { drainMs: -1 }],
    ['frameTimeoutMs', { frameTimeoutMs: 0 }],
    ['workers', { workers: -1 }],
    ['workers', { workers: 1.5 }],
    ['connectTimeoutMs', { connectTimeoutMs: 0 }],
    ['ws', { kind: 'udp', ws: true }],
    ['key', { kind: 'mm', key: 'xyz' }],
    ['key', { key: 'ab'.repeat(16) }],
    ['token', { kind: 'udp', token: 'has space' }],
    ['token', { token: 'abc' }],
    ['verify', { verify: 'some' as never }],
  ];
  it.each(RANGE)('throws a RangeError naming %s', (name, patch) => {
    const options = { ...BASE, ...patch } as BenchOptions;
    expect(() => resolveOptions(options)).toThrow(GamewireRangeError);
    expect(() => resolveOptions(options)).toThrow(new RegExp(`\\b${name.replace('.', '\\.')}\\b`));
    // bench() checks at once, before anything connects.
    expect(() => bench(options)).toThrow(RangeError);
  });

  const TYPE: Array<[string, Partial<Record<keyof BenchOptions | 'nope', unknown>>]> = [
    ['kind', { kind: 3 }],
    ['host', { host: 1 }],
    ['port', { port: '7680' }],
    ['users', { users: '10' }],
    ['verify', { verify: true }],
    ['size', { size: 'big' }],
    ['size', { size: { min: 30 } }],
    ['ws', { ws: 'yes' }],
    ['rate', { rate: '5' }],
    ['onProgress', { onProgress: 5 }],
    ['signal', { signal: {} }],
    ['nope', { nope: 1 }],
  ];
  it.each(TYPE)('throws a TypeError naming %s', (name, patch) => {
    const options = { ...BASE, ...patch } as BenchOptions;
    expect(() => resolveOptions(options)).toThrow(GamewireTypeError);
    expect(() => resolveOptions(options)).toThrow(new RegExp(`\\b${name}\\b`));
  });

  it('throws a TypeError for options that are not an object', () => {
    expect(() => resolveOptions(null as unknown as BenchOptions)).toThrow(/options/);
  });
});
