/**
 * The text reports of `gamewire bench` (src/bench/report.ts) and its progress line
 * (src/bench/progress.ts), on hand-made results.
 */
import { describe, expect, it } from 'vitest';
import { summarize } from '../../src/bench/compare.js';
import { createProgress, formatProgress } from '../../src/bench/progress.js';
import {
  GENERATOR_CEILING_PERCENT,
  ceilingWarning,
  describeLoad,
  formatComparison,
  formatCount,
  formatMs,
  formatReport,
  formatTarget,
  table,
} from '../../src/bench/report.js';
import { FIXTURE_OPTIONS, fixtureResult } from './helpers/result-fixture.js';

/** The cells of the row after the header of the table titled `title`. */
function rowAfter(report: string, title: string, index = 0): string[] {
  const lines = report.split('\n');
  const at = lines.indexOf(title);
  expect(at).toBeGreaterThanOrEqual(0);
  const rows = lines.slice(at + 1).filter((l) => l.startsWith('│'));
  return rows[index + 1]!.split('│').slice(1, -1).map((c) => c.trim());
}

describe('number formats', () => {
  it('ms keep 3 significant digits without exponents', () => {
    expect([0, 0.0412, 0.412, 4.126, 41.26, 412.6, 4126].map(formatMs)).toEqual(['0', '0.0412', '0.412', '4.13', '41.3', '413', '4126']);
    expect(formatMs(NaN)).toBe('–');
  });
  it('counts are grouped by thousands', () => {
    expect([0, 999, 1000, 1234567.6].map(formatCount)).toEqual(['0', '999', '1,000', '1,234,568']);
  });
  it('targets put IPv6 in brackets', () => {
    expect(formatTarget({ host: '::1', port: 1 })).toBe('[::1]:1');
    expect(formatTarget({ host: 'a.b', port: 2 })).toBe('a.b:2');
  });
});

describe('table', () => {
  it('boxes rows with columns as wide as their widest cell', () => {
    expect(table([['', 'n'], ['ab', '1'], ['c', '234']])).toBe(
      ['┌────┬─────┐', '│    │   n │', '├────┼─────┤', '│ ab │   1 │', '│ c  │ 234 │', '└────┴─────┘'].join('\n'),
    );
  });
});

describe('formatReport', () => {
  const report = formatReport(fixtureResult(), { cores: 8 });

  it('says what ran and where', () => {
    expect(report.split('\n')[0]).toBe(
      'gamewire bench 127.0.0.1:7680: relay users-to-owner, 2 joints × 10 users, 64 B, closed loop, window 16, 3 s (+1 s warm-up), 0 workers',
    );
  });

  it('has the latency table: p50 p90 p99 p99.9 max mean stdev, in ms', () => {
    expect(rowAfter(report, 'Latency (ms)')).toEqual(['0.412', '0.824', '2.50', '5.00', '10.0', '0.494', '0.206', '300,000']);
  });

  it('has frames/s and MB/s: mean, stdev, min, max, total', () => {
    expect(rowAfter(report, 'Throughput', 0)).toEqual(['frames/s', '100,000', '8,000', '90,000', '110,000', '300,000']);
    expect(rowAfter(report, 'Throughput', 1)).toEqual(['MB/s', '6.40', '0.51', '5.76', '7.04', '19.20 MB']);
  });

  it('has every delivery count', () => {
    expect(rowAfter(report, 'Delivery')).toEqual(['300,000', '300,000', '300,000', '0', '0', '0', '0', '12']);
    expect(report).toContain('Errors: none');
  });

  it('has the generator line and no warning below the ceiling', () => {
    expect(report).toContain('Generator: 60% CPU (1.80 s), 6.00 µs per delivered frame, 0 workers');
    expect(report).not.toContain('warning');
  });

  it('warns when the generator was near its ceiling: one core without workers', () => {
    const busy = formatReport(fixtureResult({ cpuPercent: GENERATOR_CEILING_PERCENT }), { cores: 8 });
    expect(busy).toMatch(/^warning: the generator used 90% CPU of the 1 core it can use: .*try more --workers$/m);
  });

  it('with workers, the ceiling is the cores they can use', () => {
    expect(ceilingWarning(fixtureResult({ workers: 4, cpuPercent: 300 }), 8)).toBeNull();
    expect(ceilingWarning(fixtureResult({ workers: 4, cpuPercent: 370 }), 8)).toContain('370% CPU of the 4 cores');
    // More workers than cores: the cores are the ceiling, and more workers would not help.
    expect(ceilingWarning(fixtureResult({ workers: 8, cpuPercent: 190 }), 2)).toMatch(/2 cores .*another machine$/);
  });

  it('lists errors, most frequent first, each on one line', () => {
    const r = formatReport(fixtureResult({ errors: [{ message: 'connection lost\nECONNRESET', count: 3 }, { message: 'late delivery', count: 1 }] }), { cores: 1 });
    expect(rowAfter(r, 'Errors', 0)).toEqual(['3', 'connection lost ECONNRESET']);
    expect(rowAfter(r, 'Errors', 1)).toEqual(['1', 'late delivery']);
  });

  it('notes lost frames in words', () => {
    const r = formatReport(fixtureResult({ lost: 3000 }), { cores: 1 });
    expect(r).toContain('note: 3,000 of 303,000 deliveries lost (0.99%)');
  });

  it('describes an open loop, mm with a key, a size range, a stopped run', () => {
    expect(describeLoad({ ...FIXTURE_OPTIONS, kind: 'mm', mode: 'c2s', key: 'ab'.repeat(16), window: null, rate: 500, size: { min: 24, max: 1400 }, workers: 1 }))
      .toBe('mm c2s, 10 clients, AES-GCM, 24-1400 B, open loop 500 frames/s per sender, 3 s (+1 s warm-up), 1 worker');
    const stopped = { ...fixtureResult(), durationSec: 1.5 };
    expect(formatReport(stopped, { cores: 1 }).split('\n')[0]).toMatch(/\(stopped after 1\.50 s\)$/);
  });
});

describe('formatComparison', () => {
  const a1 = fixtureResult({ framesPerSec: 100_000, p99: 2 });
  const b1 = fixtureResult({ framesPerSec: 150_000, p99: 1, options: { port: 7681 } });
  const a2 = fixtureResult({ framesPerSec: 110_000, p99: 3 });
  const b2 = fixtureResult({ framesPerSec: 130_000, p99: 1.5, options: { port: 7681 } });
  const comparison = summarize({ host: '127.0.0.1', port: 7680 }, { host: '127.0.0.1', port: 7681 }, [
    { target: 'a', result: a1 },
    { target: 'b', result: b1 },
    { target: 'a', result: a2 },
    { target: 'b', result: b2 },
  ]);
  const report = formatComparison(comparison, { cores: 8 });

  it('puts the medians side by side with b/a', () => {
    expect(rowAfter(report, 'Medians', -1)).toEqual(['', 'a 127.0.0.1:7680', 'b 127.0.0.1:7681', 'b/a']);
    expect(rowAfter(report, 'Medians', 0)).toEqual(['frames/s', '105,000', '140,000', '1.33×']);
    expect(rowAfter(report, 'Medians', 3)).toEqual(['p99 ms', '2.50', '1.25', '0.50×']);
    expect(rowAfter(report, 'Medians', 4)).toEqual(['lost', '0', '0', '1.00×']);
  });

  it('lists the rounds in the order they ran', () => {
    expect(rowAfter(report, 'Rounds', 0).slice(0, 3)).toEqual(['1', 'a 127.0.0.1:7680', '100,000']);
    expect(rowAfter(report, 'Rounds', 1).slice(0, 3)).toEqual(['2', 'b 127.0.0.1:7681', '150,000']);
    expect(rowAfter(report, 'Rounds', 3).slice(0, 3)).toEqual(['4', 'b 127.0.0.1:7681', '130,000']);
    expect(report.split('\n')[0]).toMatch(/, 2 rounds per target$/);
  });

  it('shows an infinite ratio as –', () => {
    const lossy = summarize({ host: 'h', port: 1 }, { host: 'h', port: 2 }, [
      { target: 'a', result: a1 },
      { target: 'b', result: fixtureResult({ lost: 10 }) },
    ]);
    expect(rowAfter(formatComparison(lossy, { cores: 1 }), 'Medians', 4)).toEqual(['lost', '0', '10', '–']);
  });
});

describe('progress line', () => {
  const sink = (isTTY: boolean, columns?: number) => {
    const out: string[] = [];
    return { out, stream: { isTTY, columns, write: (t: string) => out.push(t) } };
  };

  it('formats elapsed, frames/s and p99', () => {
    expect(formatProgress({ elapsedSec: 3.7, framesPerSec: 412345, p99Ms: 1.237 })).toBe('3 s  412,345 frames/s  p99 1.24 ms');
  });

  it('rewrites one line in place on a TTY and erases it at the end', () => {
    const { out, stream } = sink(true);
    const p = createProgress(stream);
    expect(p.live).toBe(true);
    p.status('relay 127.0.0.1:7680');
    p.update({ elapsedSec: 1, framesPerSec: 10, p99Ms: 2 });
    p.clear();
    expect(out).toEqual(['\r\u001b[Krelay 127.0.0.1:7680', '\r\u001b[Krelay 127.0.0.1:7680  1 s  10 frames/s  p99 2.00 ms', '\r\u001b[K']);
    expect(out.join('')).not.toContain('\n');
  });

  it('cuts the line to the terminal width, so it never wraps', () => {
    const { out, stream } = sink(true, 12);
    createProgress(stream).update({ elapsedSec: 1, framesPerSec: 123456, p99Ms: 2 });
    expect(out[0]).toBe('\r\u001b[K1 s  123,45');
  });

  it('writes nothing when the stream is not a TTY, or with --no-progress', () => {
    for (const [isTTY, enabled] of [[false, true], [true, false]] as const) {
      const { out, stream } = sink(isTTY);
      const p = createProgress(stream, enabled);
      expect(p.live).toBe(false);
      p.status('x');
      p.update({ elapsedSec: 1, framesPerSec: 1, p99Ms: 1 });
      p.clear();
      expect(out).toEqual([]);
    }
  });
});
