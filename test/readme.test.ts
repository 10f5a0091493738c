import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without declarations
import { regenerate } from '../scripts/update-readme.mjs';

describe('README.md', () => {
  it('shows the figures of bench/results/*.json (run `node scripts/update-readme.mjs` after a bench)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(regenerate(readme)).toBe(readme);
  });

  it('states the two commands', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain('npm install');
    expect(readme).toContain('npm test');
  });
});
