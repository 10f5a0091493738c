/**
 * The soak's engine options (issue 19, Safety): `--engine native|node` and `--asan` parse, and a
 * few seconds of the relay component's soak run on the native engine (skipped, with the reason,
 * where it cannot run: GAMEWIRE_NATIVE=0, no addon or one without the engine) and on the Node
 * engine. The ASan run itself (a sanitized build, minutes) is `npm run soak -- --asan`, not here.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';
import { parseSoakArgs, SoakArgsError } from './args.js';
import { COMPONENTS } from './components.js';
import { addon } from '../../src/core/load.js';
import { floorGrowthPercent, memoryRule, runSoak, sanitizerHeap } from './soak.js';

const KNOWN = Object.keys(COMPONENTS);
const support = nativeEngineSupport();
const NATIVE_MISSING = typeof support === 'string' ? support : null;
const LOAD_MS = 3000;

describe('soak options', () => {
  it('parses --engine, --asan and --out beside the others', () => {
    const a = parseSoakArgs(['--seconds', '5', '--engine', 'native', '--asan', '--components', 'relay', '--out', '/tmp/x.json'], KNOWN);
    expect(a).toMatchObject({ ms: 5000, engine: 'native', asan: true, components: ['relay'], out: '/tmp/x.json' });
    expect(parseSoakArgs(['--engine', 'node'], KNOWN).engine).toBe('node');
    const d = parseSoakArgs([], KNOWN);
    expect(d).toMatchObject({ ms: 120_000, engine: undefined, asan: false, out: undefined, components: KNOWN });
  });

  it('refuses a bad engine, a missing value and an unknown component', () => {
    expect(() => parseSoakArgs(['--engine', 'rust'], KNOWN)).toThrow(/--engine must be native or node, not rust/);
    expect(() => parseSoakArgs(['--engine'], KNOWN)).toThrow(/--engine needs a value/);
    expect(() => parseSoakArgs(['--components', 'relay,nope'], KNOWN)).toThrow(/unknown component nope/);
    expect(() => parseSoakArgs(['--help'], KNOWN)).toThrow(SoakArgsError);
  });

  it('npm run soak exits 2 with the usage on a bad engine, before any load', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/soak/run.ts', '--engine', 'rust'], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--engine must be native or node/);
    expect(r.stderr).toMatch(/\[--engine native\|node\] \[--asan\]/);
  }, 20_000);
});

describe('the memory rule', () => {
  it('judges RSS in a plain run, the live memory under ASan when the addon reports it', () => {
    const plain = [{ metric: 'rss_growth_pct' }];
    const sanitized = [...plain, { metric: 'live_memory_floor_growth_pct' }];
    expect(memoryRule(plain, false).metric).toBe('rss_growth_pct');
    expect(memoryRule(sanitized, true).metric).toBe('live_memory_floor_growth_pct');
    // An addon built before sanitizerHeap() (GAMEWIRE_ASAN_REV of an older commit): RSS, said so.
    expect(memoryRule(plain, true)).toEqual({ metric: 'rss_growth_pct', what: 'RSS (this sanitized addon has no sanitizerHeap())' });
  });

  it('judges the live heap by its floor: bursts in flight do not count, a rising floor does', () => {
    const bursty = Array.from({ length: 100 }, (_, i) => (i % 7 === 0 ? 30 : 5) + (i > 90 ? 20 : 0) * (i % 2));
    expect(floorGrowthPercent(bursty)).toBe(0);
    const leaking = Array.from({ length: 100 }, (_, i) => 5 + i * 0.05 + (i % 7 === 0 ? 25 : 0));
    expect(floorGrowthPercent(leaking)).toBeGreaterThan(50);
  });

  it('the plain addon has sanitizerHeap(), which says undefined', (ctx) => {
    if (addon === null) ctx.skip('no addon here');
    expect(typeof (addon as unknown as { sanitizerHeap?: unknown }).sanitizerHeap).toBe('function');
    expect(sanitizerHeap()).toBeUndefined();
  });
});

describe('a few seconds of the relay soak per engine', () => {
  const soakOn = async (engine: 'native' | 'node') => {
    const lines: string[] = [];
    const report = await runSoak({
      durationMs: LOAD_MS,
      warmupMs: 0,
      scale: 0.5,
      seed: 19,
      hostilePerSecond: 6,
      components: [COMPONENTS.relay!],
      relayEngine: engine,
      log: (line) => lines.push(line),
    });
    if (!report.passed) process.stderr.write(`${lines.join('\n')}\n${report.failures.join('\n')}\n`);
    const figure = (metric: string) => report.results.find((r) => r.metric === metric)?.value;
    expect(report.failures).toEqual([]);
    expect(figure('relay_engine')).toBe(engine);
    expect(figure('good_bytes_lost')).toBe(0);
    expect(Number(figure('messages_checked'))).toBeGreaterThan(10);
    expect(Number(figure('hostile_peers'))).toBeGreaterThan(5);
  };

  it('native engine: good pairs whole under hostile peers, nothing left open', async (ctx) => {
    if (NATIVE_MISSING !== null) {
      console.warn(`soak engine test: native engine skipped: ${NATIVE_MISSING}`);
      ctx.skip(`native relay engine: ${NATIVE_MISSING}`);
    }
    await soakOn('native');
  }, LOAD_MS + 40_000);

  it('node engine: the same', async () => {
    await soakOn('node');
  }, LOAD_MS + 40_000);

  it('a relay asked for the native engine that cannot run it fails to start, it does not run node', async (ctx) => {
    if (NATIVE_MISSING === null) ctx.skip('the native engine runs here: nothing to refuse');
    const report = await runSoak({ durationMs: 200, warmupMs: 0, components: [COMPONENTS.relay!], relayEngine: 'native', hostilePerSecond: 0.001 });
    expect(report.passed).toBe(false);
    expect(report.failures.join('\n')).toMatch(/relay did not start: engine 'native' cannot run/);
  }, 20_000);
});
