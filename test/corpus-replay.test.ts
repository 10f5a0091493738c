/**
 * Replays the fuzz corpus (`test/corpus/<target>/*.bin`, grown by `npm run fuzz`) and every
 * target's seeds through the fuzz targets on every implementation: no exception, no broken
 * invariant, no native/fallback difference. Bounded: the fuzzer keeps at most
 * MAX_CORPUS_FILES small files per target.
 */
import { describe, expect, it } from 'vitest';
import { FrameDecoderJs, fallbackFactories, type CoreFactories } from '../src/core/index.js';
import { readCorpus } from './fuzz/corpus.js';
import { execute, TARGETS } from './fuzz/targets.js';
import { IMPLEMENTATIONS } from './helpers/implementations.js';

/** Stop replaying a target after this long (ms): the corpus may grow, the test may not. */
const REPLAY_BUDGET_MS = 4000;

describe.each(TARGETS.map((t) => ({ name: t.name, target: t })))('corpus replay: $name', ({ target }) => {
  it(`runs every saved input and seed without failure on ${IMPLEMENTATIONS.map((i) => i.name).join(' and ')}`, () => {
    const inputs = [
      ...target.seeds().map((bytes, i) => ({ name: `seed ${i}`, bytes })),
      ...readCorpus(target.name),
    ];
    const problems: string[] = [];
    const started = performance.now();
    let ran = 0;
    for (const { name, bytes } of inputs) {
      if (performance.now() - started > REPLAY_BUDGET_MS) break;
      const ex = execute(target, bytes, IMPLEMENTATIONS);
      ran++;
      for (const f of ex.failures) problems.push(`${target.name}/${name}: ${f.implementation} ${f.kind}: ${f.message.split('\n')[0]}`);
    }
    expect(problems).toEqual([]);
    expect(ran).toBeGreaterThan(0);
  });
});

describe('the fuzz harness', () => {
  it('catches an implementation that loses a unit, and one that differs from the fallback', () => {
    const target = TARGETS.find((t) => t.name === 'frame-decoder')!;
    const input = target.seeds()[1]!;
    // Drops the last frame of every feed: breaks the model check.
    const lossy: CoreFactories = {
      ...fallbackFactories,
      name: 'native',
      frameDecoder: (o) => {
        const d = new FrameDecoderJs(o);
        const feed = d.feed.bind(d);
        d.feed = (bytes, offset, length) => Math.max(0, feed(bytes, offset, length) - 1);
        return d;
      },
    };
    const ex = execute(target, input, [lossy, fallbackFactories]);
    expect(ex.failures.map((f) => [f.implementation, f.kind])).toEqual([['native', 'exception']]);
    // Same frames, one extra flag bit on each unit: a difference, not an exception.
    const flagged: CoreFactories = {
      ...fallbackFactories,
      name: 'native',
      frameDecoder: (o) => {
        const d = new FrameDecoderJs(o);
        const feed = d.feed.bind(d);
        d.feed = (bytes, offset, length) => {
          const n = feed(bytes, offset, length);
          for (let i = 0; i < n; i++) d.units[i * 3] = d.units[i * 3]! | 8;
          return n;
        };
        return d;
      },
    };
    const ex2 = execute(target, input, [flagged, fallbackFactories]);
    expect(ex2.failures.map((f) => [f.implementation, f.kind])).toEqual([['native', 'difference']]);
  });
});
