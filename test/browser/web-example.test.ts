import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startWebExample, type WebExample } from '../../examples/web/server.js';
import { STEP } from '../../examples/web/protocol.js';
import { ARTIFACTS_DIR, HAS_CHROMIUM, CHROMIUM_SKIP_REASON, ensureBrowserBundle, launchChromium, watchPage } from './harness.js';

/** Where the screenshot is kept (docs/web-example.png is a copy of it for the README). */
const SCREENSHOT = join(ARTIFACTS_DIR, 'web-example.png');

type Dots = Record<string, { x: number; y: number }>;
const dotsOf = (page: Page) => page.evaluate(() => (window as any).dotsExample.dots() as Dots);
const meOf = (page: Page) => page.evaluate(() => (window as any).dotsExample.me as number);

describe.skipIf(!HAS_CHROMIUM)(`examples/web in Chromium${CHROMIUM_SKIP_REASON}`, () => {
  let browser: Browser;
  let example: WebExample;
  const problems: string[][] = [];
  beforeAll(async () => {
    ensureBrowserBundle();
    [browser, example] = await Promise.all([launchChromium(), startWebExample({ httpPort: 0, relayPort: 0 })]);
  });
  afterAll(async () => {
    await browser?.close();
    await example?.close();
  });

  async function openTab(label: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 720, height: 540 } });
    const seen = watchPage(page, label);
    problems.push(seen);
    await page.goto(example.url);
    await page.waitForFunction(() => (window as any).dotsExample?.me >= 0, undefined, { timeout: 10_000 }).catch((err: Error) => {
      throw new Error(`${label} never entered the joint: ${err.message}\n${seen.join('\n')}`);
    });
    return page;
  }

  it('two tabs see each other\'s dots and each other\'s moves', async () => {
    const a = await openTab('tab A');
    const b = await openTab('tab B');
    const [meA, meB] = [await meOf(a), await meOf(b)];
    expect(meA).not.toBe(meB);

    // Both tabs see both dots.
    const both = (me: number[]) => me.every((nr) => String(nr) in (window as any).dotsExample.dots());
    await a.waitForFunction(both, [meA, meB], { timeout: 10_000 });
    await b.waitForFunction(both, [meA, meB], { timeout: 10_000 });

    // A moves right twice and down once with the arrow keys; B sees exactly where A went.
    const start = (await dotsOf(a))[meA]!;
    await a.bringToFront();
    await a.keyboard.press('ArrowRight');
    await a.keyboard.press('ArrowRight');
    await a.keyboard.press('ArrowDown');
    const target = { x: start.x + 2 * STEP, y: start.y + STEP };
    const at = ([nr, x, y]: number[]) => {
      const dot = (window as any).dotsExample.dots()[nr!];
      return dot !== undefined && dot.x === x && dot.y === y;
    };
    await b.waitForFunction(at, [meA, target.x, target.y], { timeout: 10_000 });
    await a.waitForFunction(at, [meA, target.x, target.y], { timeout: 10_000 });
    // B moves up; A sees it.
    const startB = (await dotsOf(b))[meB]!;
    await b.bringToFront();
    await b.keyboard.press('ArrowUp');
    await a.waitForFunction(at, [meB, startB.x, startB.y - STEP], { timeout: 10_000 });
    expect(example.dots.size).toBe(2);

    // Kept as a test artifact; docs/web-example.png (README) is a copy: cp test/artifacts/web-example.png docs/
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await a.screenshot({ path: SCREENSHOT });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(1000);

    // B closes its tab: A's page loses B's dot.
    await b.close();
    await a.waitForFunction((nr) => !(String(nr) in (window as any).dotsExample.dots()), meB, { timeout: 10_000 });
    await a.close();
    expect(problems.flat()).toEqual([]);
  });
});
