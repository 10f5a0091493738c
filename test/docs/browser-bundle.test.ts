/**
 * The minified browser bundle (issue 16 item 13): built with a source map, exports what the
 * readable one does, is reachable as `gamewire/browser/min`, and docs/browser.md states its
 * size truthfully.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/exits-by-itself.js';

interface Built {
  outfile: string;
  bytes: number;
  gzipBytes: number;
}
let dir: string;
let readable: Built;
let minified: Built;
let script: { buildBrowser(o: object): Promise<Built>; BROWSER_BUNDLE_MIN: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gamewire-min-'));
  script = (await import(pathToFileURL(join(ROOT, 'scripts', 'build-browser.mjs')).href)) as typeof script;
  readable = await script.buildBrowser({ outfile: join(dir, 'gamewire.js'), quiet: true });
  minified = await script.buildBrowser({ outfile: join(dir, 'gamewire.min.js'), minify: true, quiet: true });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the minified browser bundle', () => {
  it('is much smaller than the readable one and has a source map naming our sources', () => {
    expect(minified.bytes).toBeLessThan(readable.bytes * 0.6);
    const code = readFileSync(minified.outfile, 'utf8');
    expect(code).toContain('//# sourceMappingURL=gamewire.min.js.map');
    const map = JSON.parse(readFileSync(`${minified.outfile}.map`, 'utf8')) as { sources: string[] };
    expect(map.sources.some((s) => s.endsWith('src/peote/peote-client.ts'))).toBe(true);
  });

  it('exports the same names as the readable bundle', async () => {
    const a = Object.keys(await import(pathToFileURL(readable.outfile).href)).sort();
    const b = Object.keys(await import(pathToFileURL(minified.outfile).href)).sort();
    expect(b).toEqual(a);
    expect(b).toContain('PeoteClient');
  });

  it('is the package export gamewire/browser/min, written by the default build', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
    expect(pkg.exports['./browser/min']!.default).toBe('./dist/browser/gamewire.min.js');
    expect(script.BROWSER_BUNDLE_MIN).toBe(join(ROOT, 'dist', 'browser', 'gamewire.min.js'));
  });

  it.each(['docs/browser.md', 'README.md'])('%s states both sizes within 10%%', (path) => {
    const doc = readFileSync(join(ROOT, path), 'utf8');
    for (const [file, built] of [['gamewire.js', readable], ['gamewire.min.js', minified]] as const) {
      const row = new RegExp(`\\| \`dist/browser/${file.replace('.', '\\.')}\` \\| [^|]+ \\| ([\\d.]+) KiB \\| ([\\d.]+) KiB \\|`).exec(doc);
      expect(row, `a table row for ${file}`).not.toBeNull();
      expect(Math.abs(Number(row![1]) * 1024 - built.bytes) / built.bytes).toBeLessThan(0.1);
      expect(Math.abs(Number(row![2]) * 1024 - built.gzipBytes) / built.gzipBytes).toBeLessThan(0.1);
    }
  });
});
