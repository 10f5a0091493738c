/**
 * `--html`: one self-contained page per run or comparison. No script, font or stylesheet is
 * fetched: the charts are inline SVG drawn here, the style is inline, so the page opens offline
 * and can be mailed or attached to an issue as one file.
 *
 * Charts: latency over time (p50 / p99 / max of each second), throughput over time, and the
 * percentile curve with the x axis scaled as HdrHistogram plots it, log10(1 / (1 - p)), so 90%,
 * 99%, 99.9% ... sit one step apart and the tail, where servers differ, gets the room.
 *
 * Every string that reaches the page goes through `escapeHtml`, every coordinate through
 * `coord`: a result file is data from elsewhere (a host name, an error message from the target).
 */
import { comparisonLabels, describeLoad, formatCount, formatMBps, formatMs, formatTarget, ceilingWarning, medianRows, roundRows } from './report.js';
import type { BenchComparison, BenchResult } from './types.js';

/** Replace the five characters that can end a text node or an attribute value. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A tick label of a large count: 250k, 1.5M. */
function formatCompact(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${Number((n / 1e9).toPrecision(3))}G`;
  if (abs >= 1e6) return `${Number((n / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((n / 1e3).toPrecision(3))}k`;
  return formatCount(n);
}

/** A number for an SVG attribute: never a string from the input, never NaN or Infinity. */
function coord(n: number): string {
  const v = Number(n);
  return Number.isFinite(v) ? (Math.round(v * 10) / 10).toString() : '0';
}

const WIDTH = 660;
const HEIGHT = 300;
const MARGIN = { left: 64, right: 36, top: 28, bottom: 44 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

/** Colours of the series, distinct for the colour-blind (Okabe-Ito). */
const COLOURS = ['#0072b2', '#e69f00', '#d55e00', '#009e73', '#cc79a7', '#56b4e9'];

interface Series {
  readonly name: string;
  readonly colour: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  readonly dashed?: boolean;
  /** False: drawn without a legend entry (a later round of a target already in the legend). */
  readonly legend?: boolean;
  /** The legend's text; default `name` (which is also the line's tooltip). */
  readonly label?: string;
}

/** Series of at most this many points get a dot at each point (one point draws no line). */
const DOTS_MAX_POINTS = 30;

interface Tick {
  readonly at: number;
  readonly label: string;
}

interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** The x range and its ticks; default: the data's range with round ticks. */
  readonly x?: { readonly min: number; readonly max: number; readonly ticks: readonly Tick[] };
  /** y labels formatter; default formatMs. */
  readonly yFormat?: (n: number) => string;
  /** Whole-number x ticks only (seconds). */
  readonly xWhole?: boolean;
}

/**
 * About `count` round ticks from min to just past max: steps of 1, 2 or 5 × 10^k.
 * @param minStep the smallest step (1 for whole numbers); default none
 */
export function niceTicks(min: number, max: number, count = 5, minStep = 0): number[] {
  if (!(max > min)) max = min + 1;
  const raw = Math.max((max - min) / count, minStep);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** One line chart as an SVG element. */
function lineChart(spec: ChartSpec): string {
  const all = spec.series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const head = `<figure><figcaption>${escapeHtml(spec.title)}</figcaption>`;
  if (all.length === 0) return `${head}<p class="empty">no data</p></figure>`;
  const xTicksData = spec.x ?? (() => {
    const xs = niceTicks(Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0])), 6, spec.xWhole ? 1 : 0);
    return { min: xs[0]!, max: xs[xs.length - 1]!, ticks: xs.map((at) => ({ at, label: String(at) })) };
  })();
  const yTicks = niceTicks(0, Math.max(...all.map((p) => p[1])), 5);
  const yMax = yTicks[yTicks.length - 1]!;
  const { min: xMin, max: xMax } = xTicksData;
  const sx = (x: number) => MARGIN.left + (xMax === xMin ? 0 : ((x - xMin) / (xMax - xMin)) * PLOT_W);
  const sy = (y: number) => MARGIN.top + PLOT_H - (yMax === 0 ? 0 : (y / yMax) * PLOT_H);
  const yFormat = spec.yFormat ?? formatMs;
  const parts: string[] = [];
  for (const t of yTicks) {
    parts.push(`<line class="grid" x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${coord(sy(t))}" y2="${coord(sy(t))}"/>`);
    parts.push(`<text class="tick" x="${MARGIN.left - 6}" y="${coord(sy(t) + 4)}" text-anchor="end">${escapeHtml(yFormat(t))}</text>`);
  }
  for (const t of xTicksData.ticks) {
    parts.push(`<line class="grid" x1="${coord(sx(t.at))}" x2="${coord(sx(t.at))}" y1="${MARGIN.top}" y2="${MARGIN.top + PLOT_H}"/>`);
    parts.push(`<text class="tick" x="${coord(sx(t.at))}" y="${MARGIN.top + PLOT_H + 16}" text-anchor="middle">${escapeHtml(t.label)}</text>`);
  }
  parts.push(`<rect class="frame" x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_W}" height="${PLOT_H}"/>`);
  parts.push(`<text class="axis" x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 6}" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>`);
  parts.push(`<text class="axis" transform="translate(14 ${MARGIN.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(spec.yLabel)}</text>`);
  let legendX = MARGIN.left + 8;
  for (const s of spec.series) {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const colour = escapeHtml(s.colour);
    if (pts.length > 0) {
      const path = pts.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${coord(sx(x))} ${coord(sy(y))}`).join(' ');
      parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ''}><title>${escapeHtml(s.name)}</title></path>`);
    }
    if (pts.length <= DOTS_MAX_POINTS) {
      for (const [x, y] of pts) parts.push(`<circle cx="${coord(sx(x))}" cy="${coord(sy(y))}" r="2.5" fill="${colour}"/>`);
    }
    if (s.legend === false) continue;
    const label = s.label ?? s.name;
    parts.push(`<line x1="${coord(legendX)}" x2="${coord(legendX + 18)}" y1="${MARGIN.top - 12}" y2="${MARGIN.top - 12}" stroke="${colour}" stroke-width="3"/>`);
    parts.push(`<text class="legend" x="${coord(legendX + 22)}" y="${MARGIN.top - 8}">${escapeHtml(label)}</text>`);
    // About 6.5 px per character at the chart's 11 px font.
    legendX += 40 + [...label].length * 6.5;
  }
  return `${head}<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(spec.title)}">${parts.join('')}</svg></figure>`;
}

/** HdrHistogram's percentile axis: 0 at p0, 1 at 90%, 2 at 99%, 3 at 99.9% ... */
export function percentileX(percentile: number): number {
  return percentile >= 100 ? Infinity : Math.log10(100 / (100 - percentile));
}

/** A percentile tick's label: 0%, 90%, 99%, 99.9% ... */
function percentileLabel(decade: number): string {
  if (decade === 0) return '0%';
  return `${(100 - 100 / 10 ** decade).toFixed(Math.max(0, decade - 2))}%`;
}

/** The x range of percentile curves: up to the decade past the finest finite percentile, at least 99.9%. */
function percentileAxis(curves: ReadonlyArray<ReadonlyArray<readonly [number, number]>>) {
  const finite = curves.flatMap((c) => c.map(([p]) => percentileX(p)).filter(Number.isFinite));
  const max = Math.max(3, Math.ceil(Math.max(0, ...finite) - 1e-9));
  const ticks: Tick[] = [];
  for (let d = 0; d <= max; d++) ticks.push({ at: d, label: percentileLabel(d) });
  return { min: 0, max, ticks };
}

/** A percentile curve in chart coordinates; p100 (the max) sits at the right edge. */
function percentilePoints(curve: ReadonlyArray<readonly [number, number]>, xMax: number): [number, number][] {
  return curve
    .map(([p, ms]): [number, number] => [Math.min(percentileX(p), xMax), ms])
    .sort((u, v) => u[0] - v[0]);
}

interface Curve {
  readonly name: string;
  readonly curve: ReadonlyArray<readonly [number, number]>;
  readonly colour: string;
  readonly dashed?: boolean;
  readonly legend?: boolean;
  readonly label?: string;
}

function percentileChart(title: string, curves: readonly Curve[]): string {
  const x = percentileAxis(curves.map((c) => c.curve));
  return lineChart({
    title,
    xLabel: 'percentile',
    yLabel: 'latency (ms)',
    x,
    series: curves.map((c) => ({ name: c.name, colour: c.colour, dashed: c.dashed, legend: c.legend, label: c.label, points: percentilePoints(c.curve, x.max) })),
  });
}

function latencyOverTime(result: BenchResult, title = 'Latency over time'): string {
  const t = result.timeline;
  return lineChart({
    title,
    xLabel: 'second of the measured period',
    yLabel: 'latency (ms)',
    xWhole: true,
    series: [
      { name: 'p50', colour: COLOURS[0]!, points: t.map((p) => [p.second, p.p50Ms] as const) },
      { name: 'p99', colour: COLOURS[1]!, points: t.map((p) => [p.second, p.p99Ms] as const) },
      { name: 'max', colour: COLOURS[2]!, points: t.map((p) => [p.second, p.maxMs] as const), dashed: true },
    ],
  });
}

function throughputOverTime(series: readonly { name: string; result: BenchResult; colour: string }[], title = 'Throughput over time'): string {
  return lineChart({
    title,
    xLabel: 'second of the measured period',
    yLabel: 'frames/s',
    yFormat: formatCompact,
    xWhole: true,
    series: series.map((s) => ({ name: s.name, colour: s.colour, points: s.result.timeline.map((p) => [p.second, p.frames] as const) })),
  });
}

/** An HTML table; the first row is the header. Every cell is escaped. */
function htmlTable(rows: readonly (readonly unknown[])[], caption?: string): string {
  const [head, ...body] = rows;
  const cap = caption === undefined ? '' : `<caption>${escapeHtml(caption)}</caption>`;
  const th = head!.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const trs = body.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th>${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`).join('');
  return `<table>${cap}<thead><tr>${th}</tr></thead><tbody>${trs}</tbody></table>`;
}

function resultTables(result: BenchResult): string {
  const l = result.latency;
  const f = result.framesPerSec;
  const b = result.bytesPerSec;
  const c = result.counts;
  const g = result.generator;
  const warning = ceilingWarning(result);
  const errors = result.errors.length === 0
    ? '<p>Errors: none</p>'
    : htmlTable([['message', 'count'], ...result.errors.map((e) => [e.message, formatCount(e.count)])], 'Errors');
  return [
    htmlTable([['', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean', 'stdev', 'samples'], ['ms', ...[l.p50, l.p90, l.p99, l.p999, l.max, l.mean, l.stdev].map(formatMs), formatCount(l.samples)]], 'Latency'),
    htmlTable([
      ['', 'mean', 'stdev', 'min', 'max', 'total'],
      ['frames/s', formatCount(f.mean), formatCount(f.stdev), formatCount(f.min), formatCount(f.max), formatCount(f.total)],
      ['MB/s', formatMBps(b.mean), formatMBps(b.stdev), formatMBps(b.min), formatMBps(b.max), `${formatMBps(b.total)} MB`],
    ], 'Throughput'),
    htmlTable([
      ['', 'sent', 'expected', 'delivered', 'lost', 'reordered', 'corrupted', 'duplicated', 'refused'],
      ['frames', ...[c.sent, c.expected, c.delivered, c.lost, c.reordered, c.corrupted, c.duplicated, c.refused].map(formatCount)],
    ], 'Delivery'),
    errors,
    `<p>Generator: ${escapeHtml(Math.round(g.cpuPercent))}% CPU (${escapeHtml(formatMs(g.cpuMs / 1000))} s), ${escapeHtml(formatMs(g.cpuUsPerFrame))} µs per delivered frame, ${escapeHtml(g.workers)} workers</p>`,
    warning === null ? '' : `<p class="warning">${escapeHtml(warning)}</p>`,
  ].join('\n');
}

function optionsTable(result: BenchResult): string {
  const rows = Object.entries(result.options).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)]);
  return `<details><summary>Options</summary>${htmlTable([['option', 'value'], ...rows])}</details>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1500px; padding: 0 16px; color: #222; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.sub { color: #555; margin: 0 0 16px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; border: 1px solid #ddd; border-radius: 6px; padding: 8px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg { max-width: 100%; height: auto; font-size: 11px; }
.grid { stroke: #eee; } .frame { fill: none; stroke: #999; }
.tick { fill: #555; } .axis { fill: #333; } .legend { fill: #333; }
.empty { color: #888; width: ${WIDTH}px; }
table { border-collapse: collapse; margin: 12px 0; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #ddd; padding: 3px 10px; text-align: right; font-variant-numeric: tabular-nums; }
thead th { background: #f5f5f5; }
.warning { color: #a40; font-weight: 600; }
`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** The page of one run: what ran, three charts and the tables. */
export function renderHtml(result: BenchResult): string {
  const target = formatTarget(result.options);
  const body = [
    `<h1>gamewire bench ${escapeHtml(target)}</h1>`,
    `<p class="sub">${escapeHtml(describeLoad(result.options))}; started ${escapeHtml(result.startedAt)}, measured ${escapeHtml(formatMs(result.durationSec))} s</p>`,
    '<div class="charts">',
    latencyOverTime(result),
    throughputOverTime([{ name: 'frames/s', result, colour: COLOURS[3]! }]),
    percentileChart('Latency by percentile', [{ name: 'latency', curve: result.percentiles, colour: COLOURS[0]! }]),
    '</div>',
    resultTables(result),
    optionsTable(result),
  ].join('\n');
  return page(`gamewire bench ${target}`, body);
}

/** The round of `target` whose throughput is the median (the lower middle for an even count). */
function medianRound(comparison: BenchComparison, target: 'a' | 'b'): BenchResult | undefined {
  const results = comparison.rounds.filter((r) => r.target === target).map((r) => r.result);
  const sorted = [...results].sort((x, y) => x.framesPerSec.mean - y.framesPerSec.mean);
  return sorted[(sorted.length - 1) >> 1];
}

/** The page of `--compare`: medians side by side, every round's percentile curve, the rounds. */
export function renderComparisonHtml(comparison: BenchComparison): string {
  const { a, b } = comparisonLabels(comparison);
  const first = comparison.rounds[0]?.result;
  const colour = (t: 'a' | 'b') => (t === 'a' ? COLOURS[0]! : COLOURS[1]!);
  const curves: Curve[] = comparison.rounds.map((r, i) => ({
    name: `${r.target === 'a' ? a : b}, round ${i + 1}`,
    curve: r.result.percentiles,
    colour: colour(r.target),
    dashed: r.target === 'b',
    legend: comparison.rounds.findIndex((q) => q.target === r.target) === i,
    label: r.target === 'a' ? a : b,
  }));
  const ma = medianRound(comparison, 'a');
  const mb = medianRound(comparison, 'b');
  const medians = [ma && { name: a, result: ma, colour: colour('a') }, mb && { name: b, result: mb, colour: colour('b') }].filter((x): x is { name: string; result: BenchResult; colour: string } => Boolean(x));
  const body = [
    `<h1>gamewire bench: ${escapeHtml(formatTarget(comparison.a))} vs ${escapeHtml(formatTarget(comparison.b))}</h1>`,
    `<p class="sub">${first ? escapeHtml(describeLoad(first.options)) : 'no rounds'}; rounds alternate a, b, a, b ...; figures are the medians of each target's rounds</p>`,
    htmlTable([['', a, b, 'b/a'], ...medianRows(comparison.summary)], 'Medians'),
    '<div class="charts">',
    percentileChart('Latency by percentile, every round', curves),
    throughputOverTime(medians, 'Throughput over time, median round of each target'),
    ...(ma ? [latencyOverTime(ma, `Latency over time, ${a} (median round)`)] : []),
    ...(mb ? [latencyOverTime(mb, `Latency over time, ${b} (median round)`)] : []),
    '</div>',
    htmlTable([['#', 'target', 'frames/s', 'MB/s', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'cpu %'], ...roundRows(comparison, { a, b }, String)], 'Rounds'),
    ...(first ? [optionsTable(first)] : []),
  ].join('\n');
  return page(`gamewire bench compare ${formatTarget(comparison.a)} vs ${formatTarget(comparison.b)}`, body);
}
