/**
 * Merges what each thread measured (LoadPartial) into the one BenchResult every output is made
 * from: counts summed, histograms added (HdrHistogram `add`, so percentiles are exact over all
 * threads, not averaged), errors by message, the timeline second by second.
 */
import { addEncoded, latencyHistogram, percentileCurve, percentileMs, summarize } from './histogram.js';
import { RING_FULL, type LoadPartial } from './load.js';
import { ErrorTally, WARMUP_LOST, type MutableCounts } from './tally.js';
import type { BenchResult, RateSummary, ResolvedBenchOptions, TimelinePoint } from './types.js';

/** What the coordinator measured itself. */
export interface RunFacts {
  readonly options: ResolvedBenchOptions;
  /** ISO time the run started. */
  readonly startedAt: string;
  /** Measured seconds actually run. */
  readonly durationSec: number;
  /** Process CPU (all threads) over the measured period, ms. */
  readonly cpuMs: number;
}

/** Rate summary of per-second values; the last second may be partial (its rate is scaled). */
export function rateSummary(perSecond: readonly number[], durationSec: number): RateSummary {
  let total = 0;
  for (const v of perSecond) total += v;
  if (durationSec <= 0 || perSecond.length === 0) return { mean: 0, stdev: 0, min: 0, max: 0, total };
  const rates = perSecond.map((v, i) => v / Math.min(1, Math.max(durationSec - i, 1e-3)));
  const mean = total / durationSec;
  let sq = 0;
  for (const r of rates) sq += (r - mean) * (r - mean);
  return { mean, stdev: Math.sqrt(sq / rates.length), min: Math.min(...rates), max: Math.max(...rates), total };
}

/**
 * The error entry of a measured period that delivered nothing although deliveries were due (or no
 * frame went out at all), with the reasons the errors and counts show. Without it such a run
 * reads as a clean one: 0 delivered, 0 lost.
 * @returns null when something was delivered, or nothing was measured (an abort in the warm-up)
 */
export function nothingDelivered(counts: MutableCounts, errors: ErrorTally, options: ResolvedBenchOptions, durationSec: number): string | null {
  if (durationSec <= 0 || counts.delivered > 0 || (counts.sent > 0 && counts.expected === 0)) return null;
  const why: string[] = [];
  if (errors.byMessage.has(RING_FULL)) why.push(`senders were held up by frames in flight awaiting frameTimeoutMs (${options.frameTimeoutMs} ms)`);
  if (errors.byMessage.has(WARMUP_LOST)) {
    const wait = options.rate === null ? ` (a closed-loop sender waits frameTimeoutMs, ${options.frameTimeoutMs} ms, before it counts such a frame lost and sends more)` : '';
    why.push(`frames of the warm-up were lost${wait}`);
  }
  if (counts.sent === 0 && counts.refused > 0) why.push('the transport refused the sends');
  if (counts.sent > 0 && counts.lost === counts.expected) why.push('every expected delivery was lost');
  if (counts.corrupted > 0) why.push('deliveries arrived corrupted');
  const sent = counts.sent === 0 ? 'no frame was sent in it' : `${counts.sent} frames were sent in it, ${counts.lost} of ${counts.expected} expected deliveries lost`;
  return `the measured period delivered nothing: ${sent}${why.length > 0 ? `; ${why.join('; ')}` : ''}`;
}

/** The BenchResult of a run from its threads' partials. */
export function mergeResult(facts: RunFacts, partials: readonly LoadPartial[]): BenchResult {
  const counts: MutableCounts = { sent: 0, expected: 0, delivered: 0, lost: 0, reordered: 0, corrupted: 0, duplicated: 0, refused: 0 };
  const errors = new ErrorTally();
  const seconds = Math.max(Math.ceil(facts.durationSec - 1e-9), 0);
  const frames = new Array<number>(seconds).fill(0);
  const bytes = new Array<number>(seconds).fill(0);
  const perSecond = Array.from({ length: seconds }, () => latencyHistogram());
  const total = latencyHistogram();
  for (const p of partials) {
    for (const key of Object.keys(counts) as Array<keyof MutableCounts>) counts[key] += p.counts[key];
    for (const [message, count] of p.errors) errors.add(message, count);
    // A second past the measured ones only holds frames of an abort's last instant: fold it in.
    p.seconds.forEach((s, i) => {
      const at = Math.min(i, Math.max(seconds - 1, 0));
      if (seconds === 0) {
        addEncoded(total, s.histogram);
        return;
      }
      frames[at]! += s.frames;
      bytes[at]! += s.bytes;
      addEncoded(perSecond[at]!, s.histogram);
    });
  }
  const timeline: TimelinePoint[] = perSecond.map((h, i) => {
    total.add(h);
    const point = {
      second: i,
      frames: frames[i]!,
      bytes: bytes[i]!,
      p50Ms: percentileMs(h, 50),
      p99Ms: percentileMs(h, 99),
      maxMs: h.totalCount === 0 ? 0 : h.maxValue / 1000,
    };
    h.destroy();
    return point;
  });
  const latency = summarize(total);
  const percentiles = percentileCurve(total);
  total.destroy();
  const { durationSec, cpuMs } = facts;
  const nothing = nothingDelivered(counts, errors, facts.options, durationSec);
  // Set, not add(): past MAX_ERROR_MESSAGES_COUNT add() would fold it into 'other errors'.
  if (nothing !== null) errors.byMessage.set(nothing, 1);
  return {
    schema: 'gamewire-bench/1',
    options: facts.options,
    startedAt: facts.startedAt,
    durationSec,
    latency,
    percentiles,
    framesPerSec: rateSummary(frames, durationSec),
    bytesPerSec: rateSummary(bytes, durationSec),
    counts,
    errors: [...errors.byMessage].sort((a, b) => b[1] - a[1]).map(([message, count]) => ({ message, count })),
    timeline,
    generator: {
      workers: facts.options.workers,
      cpuMs,
      cpuPercent: durationSec > 0 ? (cpuMs / (durationSec * 1000)) * 100 : 0,
      cpuUsPerFrame: counts.delivered > 0 ? (cpuMs * 1000) / counts.delivered : 0,
    },
  };
}
