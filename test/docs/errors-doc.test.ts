import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GamewireErrorCode } from '../../src/core/error-codes.js';

/** The codes of docs/errors.md: the first cell of each table row. */
function documentedCodes(): string[] {
  const doc = readFileSync('docs/errors.md', 'utf8');
  return [...doc.matchAll(/^\| `(GW_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
}

describe('docs/errors.md', () => {
  it('documents every code of GamewireErrorCode, once', () => {
    const documented = documentedCodes();
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual(Object.values(GamewireErrorCode).sort());
  });

  it('says for each code who raises it and whether it is thrown or delivered', () => {
    const doc = readFileSync('docs/errors.md', 'utf8');
    const rows = [...doc.matchAll(/^\| `(GW_[A-Z0-9_]+)` \|([^|]+)\|([^|]+)\|([^|]+)\|$/gm)];
    expect(rows.length).toBe(Object.values(GamewireErrorCode).length);
    for (const [, code, raisedBy, kind, advice] of rows) {
      expect(raisedBy!.trim(), code).not.toBe('');
      expect(kind, code).toMatch(/thrown|delivered|returned/);
      expect(advice!.trim().length, code).toBeGreaterThan(10);
    }
  });

  it('is the table the other docs name codes from: no doc names a code that does not exist', () => {
    const known = new Set<string>(Object.values(GamewireErrorCode));
    const files = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    for (const path of files) {
      for (const [code] of readFileSync(path, 'utf8').matchAll(/GW_ERR_[A-Z0-9_]*[A-Z0-9]/g)) {
        expect(known.has(code), `${path}: ${code}`).toBe(true);
      }
    }
  });
});
