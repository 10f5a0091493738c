/**
 * Latency histograms of a bench run: HdrHistogram (hdr-histogram-js) recording microseconds, so a
 * summary in ms keeps µs precision (3 significant digits). Across worker threads they travel as
 * HdrHistogram's compressed base64 encoding and are merged with `add`.
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { LatencySummary } from './types.js';

const US_PER_MS = 1000;

/**
 * A new latency histogram (values in µs). It starts small and grows to the largest value
 * recorded (autoResize): a 32-bit-bucket histogram records in ~100 ns, the packed one in ~1.3 µs
 * (measured on this machine), and one exists per measured second.
 */
export function latencyHistogram(): Histogram {
  return build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records one latency given in ms (negative clock skew counts as 0). */
export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(ms > 0 ? Math.round(ms * US_PER_MS) : 0);
}

/** The histogram as a string a worker can post (HdrHistogram's compressed V2 encoding). */
export function encodeHistogram(histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram);
}

/** Adds an encoded histogram into `into`. */
export function addEncoded(into: Histogram, encoded: string): void {
  const h = decodeFromCompressedBase64(encoded, 32, false);
  into.add(h);
  h.destroy();
}

/** The value at `percentile` (0-100) in ms; 0 when empty. */
export function percentileMs(histogram: Histogram, percentile: number): number {
  return histogram.totalCount === 0 ? 0 : histogram.getValueAtPercentile(percentile) / US_PER_MS;
}

/** The latency table of a run, in ms. */
export function summarize(histogram: Histogram): LatencySummary {
  const empty = histogram.totalCount === 0;
  return {
    samples: histogram.totalCount,
    min: percentileMs(histogram, 0),
    mean: empty ? 0 : histogram.mean / US_PER_MS,
    stdev: empty ? 0 : histogram.stdDeviation / US_PER_MS,
    p50: percentileMs(histogram, 50),
    p90: percentileMs(histogram, 90),
    p99: percentileMs(histogram, 99),
    p999: percentileMs(histogram, 99.9),
    max: empty ? 0 : histogram.maxValue / US_PER_MS,
  };
}

/** Percentile steps per halving of the distance to 100 (HdrHistogram's usual 5 ticks: a smooth chart). */
const TICKS_PER_HALF = 5;

/**
 * The percentile curve for charts: [percentile, ms] pairs from 0 to 100, spaced evenly on the
 * "1 / (1 - p)" axis HdrHistogram plots, until one sample is a step; always ends at 100.
 */
export function percentileCurve(histogram: Histogram): Array<[number, number]> {
  const curve: Array<[number, number]> = [];
  if (histogram.totalCount === 0) return curve;
  const finest = 1 / histogram.totalCount;
  for (let k = 0; ; k++) {
    const remaining = Math.pow(0.5, k / TICKS_PER_HALF);
    if (remaining < finest) break;
    const p = 100 * (1 - remaining);
    curve.push([p, percentileMs(histogram, p)]);
  }
  curve.push([100, histogram.maxValue / US_PER_MS]);
  return curve;
}
