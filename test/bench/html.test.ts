/**
 * The `--html` page (src/bench/html.ts): self-contained (nothing fetched, no script), every
 * string escaped, the three charts drawn from the result, the percentile axis as HdrHistogram's.
 */
import { describe, expect, it } from 'vitest';
import { summarize } from '../../src/bench/compare.js';
import { escapeHtml, niceTicks, percentileX, renderComparisonHtml, renderHtml } from '../../src/bench/html.js';
import { fixtureResult } from './helpers/result-fixture.js';

const EVIL = '<script>alert("x")</script>&\'';

/** Nothing the page would load from elsewhere, and no script at all. */
function expectSelfContained(html: string): void {
  expect(html).toMatch(/^<!DOCTYPE html>/);
  expect(html).not.toMatch(/<script|<link|<iframe|<img|@import|url\(|\bsrc=|\bhref=|javascript:/i);
  // The only URL allowed is the SVG namespace-free inline markup: no http at all.
  expect(html).not.toMatch(/https?:/);
}

describe('renderHtml', () => {
  const html = renderHtml(fixtureResult());

  it('is one self-contained page', () => {
    expectSelfContained(html);
    expect(html.match(/<svg /g)).toHaveLength(3);
  });

  it('draws latency over time, throughput over time and the percentile curve', () => {
    for (const title of ['Latency over time', 'Throughput over time', 'Latency by percentile']) expect(html).toContain(`<figcaption>${title}</figcaption>`);
    // p50, p99, max over time; frames/s; the curve: five paths.
    expect(html.match(/<path d="M/g)).toHaveLength(5);
    for (const label of ['90%', '99%', '99.9%', '99.99%']) expect(html).toContain(`>${label}</text>`);
  });

  it('has the tables of the text report', () => {
    for (const caption of ['Latency', 'Throughput', 'Delivery']) expect(html).toContain(`<caption>${caption}</caption>`);
    expect(html).toContain('<td>0.412</td>');
    expect(html).toContain('<td>100,000</td>');
  });

  it('escapes every string of the result', () => {
    const evil = fixtureResult({ options: { host: EVIL }, errors: [{ message: EVIL, count: 2 }] });
    const page = renderHtml({ ...evil, startedAt: EVIL });
    expect(page).not.toContain('<script');
    expect(page).not.toContain(EVIL);
    expect(page).toContain(escapeHtml(EVIL));
    expect(escapeHtml(EVIL)).toBe('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;');
  });

  it('survives numbers that are not numbers (a hand-edited file)', () => {
    const bad = fixtureResult();
    const page = renderHtml({ ...bad, timeline: [{ ...bad.timeline[0]!, p99Ms: '"/><script>' as unknown as number }] });
    expect(page).not.toContain('<script');
  });

  it('says "no data" for a run where nothing came back', () => {
    const empty = { ...fixtureResult(), percentiles: [], timeline: [] };
    const page = renderHtml(empty);
    expect(page.match(/no data/g)).toHaveLength(3);
    expectSelfContained(page);
  });
});

describe('renderComparisonHtml', () => {
  it('has the medians with b/a, every round\'s curve and the rounds table', () => {
    const c = summarize({ host: '127.0.0.1', port: 1 }, { host: EVIL, port: 2 }, [
      { target: 'a', result: fixtureResult({ framesPerSec: 100_000 }) },
      { target: 'b', result: fixtureResult({ framesPerSec: 200_000, options: { host: EVIL, port: 2 } }) },
      { target: 'a', result: fixtureResult({ framesPerSec: 100_000 }) },
      { target: 'b', result: fixtureResult({ framesPerSec: 200_000, options: { host: EVIL, port: 2 } }) },
    ]);
    const page = renderComparisonHtml(c);
    expectSelfContained(page);
    expect(page).not.toContain('<script');
    expect(page).toContain('<caption>Medians</caption>');
    expect(page).toContain('<td>2.00×</td>');
    expect(page).toContain('<caption>Rounds</caption>');
    // Four percentile curves; throughput of a and b; latency over time of each target's median round.
    expect(page.match(/<svg /g)).toHaveLength(4);
    expect(page.match(/, round \d<\/title>/g)).toHaveLength(4);
  });
});

describe('chart helpers', () => {
  it('percentileX: one step per nine: 0%, 90%, 99%, 99.9%', () => {
    expect([0, 90, 99, 99.9].map((p) => Number(percentileX(p).toFixed(9)))).toEqual([0, 1, 2, 3]);
    expect(percentileX(100)).toBe(Infinity);
  });
  it('niceTicks uses steps of 1, 2 or 5 × 10^k up to past the max', () => {
    expect(niceTicks(0, 44.9)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(niceTicks(0, 1, 6, 1)).toEqual([0, 1]);
    expect(niceTicks(0, 0.7)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
  });
});
