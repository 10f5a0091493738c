import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateLimitedLog } from '../../src/events/log.js';

afterEach(() => vi.useRealTimers());

describe('RateLimitedLog (K8)', () => {
  it('lets linesPerSecond lines through per second and reports how many it held back', () => {
    vi.useFakeTimers({ now: 10_000 });
    const lines: string[] = [];
    const log = new RateLimitedLog((l) => lines.push(l), 2);
    for (let i = 0; i < 5; i++) log.line(() => `drop ${i}`);
    expect(lines).toEqual(['drop 0', 'drop 1']);
    vi.advanceTimersByTime(1000);
    log.line(() => 'drop 5');
    expect(lines).toEqual(['drop 0', 'drop 1', 'drop 5 (3 similar lines suppressed)']);
  });

  it('builds no string when there is no sink, and survives a throwing sink', () => {
    const build = vi.fn(() => 'x');
    new RateLimitedLog(undefined).line(build);
    expect(build).not.toHaveBeenCalled();
    expect(() => new RateLimitedLog(() => { throw new Error('sink'); }).line(() => 'x')).not.toThrow();
  });

  it('guard runs an application callback and logs, never rethrows, what it throws', () => {
    const lines: string[] = [];
    const log = new RateLimitedLog((l) => lines.push(l));
    let ran = false;
    log.guard(() => {
      ran = true;
    });
    expect(ran).toBe(true);
    expect(() => log.guard(() => { throw new Error('app bug'); })).not.toThrow();
    expect(lines).toEqual(['application callback threw: app bug']);
  });
});
