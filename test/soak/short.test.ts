/**
 * The short soak of `npm test` (issue 9): every style's server in this process for about 30 s
 * of mixed load (good clients with every byte checked, a stream of hostile peers, UDP through a
 * lossy proxy), then every handle closed. Good clients lose no byte, nothing is corrupted, no
 * invariant breaks, nothing throws, nothing stays open. RSS is reported, judged only by the
 * long runs (`npm run soak -- --minutes 10`).
 */
import { describe, expect, it } from 'vitest';
import { COMPONENTS } from './components.js';
import { runSoak } from './soak.js';

const LOAD_MS = 30_000;

describe('short soak', () => {
  it(
    'keeps good clients whole under hostile load on every style',
    async () => {
      const lines: string[] = [];
      console.log(`short soak: ${(LOAD_MS + 10_000) / 1000} s of mixed load on every style, progress every 10 s`);
      const report = await runSoak({
        durationMs: LOAD_MS,
        warmupMs: 10_000,
        scale: 0.7,
        seed: 9,
        hostilePerSecond: 5,
        components: Object.values(COMPONENTS),
        log: (line) => {
          lines.push(line);
          // ~40 s is long for one test: say it is alive (issue 16 item 12), one short line per 10 s.
          if (/^\[\d+ s\]/.test(line)) console.log(`short soak ${line.split(' | ')[0]}`);
          else if (line.startsWith('load done')) console.log(`short soak: ${line}`);
        },
      });
      const figure = (metric: string) => report.results.find((r) => r.metric === metric)?.value;
      if (!report.passed) process.stderr.write(`${lines.join('\n')}\n${report.failures.join('\n')}\n`);
      expect(report.failures).toEqual([]);
      expect(figure('good_bytes_lost')).toBe(0);
      expect(figure('corrupt_deliveries')).toBe(0);
      expect(Number(figure('messages_checked'))).toBeGreaterThan(1000);
      expect(Number(figure('hostile_peers'))).toBeGreaterThan(50);
      expect(figure('components')).toBe('relay,mm,udp,events');
    },
    LOAD_MS + 60_000,
  );
});
