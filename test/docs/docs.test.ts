/**
 * The docs say what the code does (issue 16 item 9): every metric the relay registers and every
 * disconnect reason it counts is in docs/relay.md; every option the peote and udp constructors
 * accept and every peote Reason is in its doc; no stale drafts ship; relative links resolve.
 * The lists come from the code itself, so a new metric, reason or option fails here until it
 * is documented.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRelayRegistry } from '../../src/relay/metrics.js';
import { DisconnectReason, RelayStats } from '../../src/relay/stats.js';
import { PeoteClient, PeoteServer, Reason } from '../../src/peote/index.js';
import { UdpPipe } from '../../src/udp/index.js';
import { ROOT } from '../helpers/exits-by-itself.js';

const doc = (name: string): string => readFileSync(join(ROOT, 'docs', name), 'utf8');

/** The option names a constructor accepts, read from its unknown-option error. */
function knownOptions(make: () => unknown): string[] {
  try {
    make();
  } catch (err) {
    const known = /\(known: ([^)]*)\)/.exec((err as Error).message);
    if (known) return known[1]!.split(', ');
  }
  throw new Error('the constructor did not refuse an unknown option');
}

describe('docs/relay.md', () => {
  const text = doc('relay.md');
  it('names every metric the relay registers', async () => {
    const registry = createRelayRegistry(new RelayStats(), () => ({ joints: 0, users: 0, backlogBytes: 0, pendingConnections: 0, pendingUpgrades: 0 }));
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !text.includes(`\`${n}\``) && !text.includes(`\`${n}{`))).toEqual([]);
  });
  it('names every disconnect reason', () => {
    const reasons = Object.values(DisconnectReason);
    expect(reasons).toContain('idle');
    expect(reasons.filter((r) => !text.includes(`\`${r}\``))).toEqual([]);
  });
});

describe('docs/peote.md', () => {
  const text = doc('peote.md');
  it('documents every option of PeoteServer and PeoteClient', () => {
    const options = [
      ...knownOptions(() => new PeoteServer({ 'no such option': 1 } as never)),
      ...knownOptions(() => new PeoteClient({ 'no such option': 1 } as never)),
    ];
    expect(options.filter((o) => !new RegExp(`\`${o}[(\`]`).test(text))).toEqual([]);
  });
  it('lists every Reason in its table', () => {
    const names = Object.keys(Reason).filter((k) => typeof (Reason as Record<string, unknown>)[k] === 'number');
    expect(names.filter((n) => !text.includes(`| ${n} | ${(Reason as unknown as Record<string, number>)[n]} |`))).toEqual([]);
  });
  it('says what a null map does', () => {
    expect(text).toMatch(/`null`\s+\(or `undefined`\) is sent as count 0/);
  });
});

describe('docs/udp.md', () => {
  it('documents every UdpPipe option', () => {
    const text = doc('udp.md');
    const options = knownOptions(() => new UdpPipe({ 'no such option': 1 } as never));
    expect(options.filter((o) => !text.includes(`\`${o}\``))).toEqual([]);
  });
});

describe('the docs folder', () => {
  it('ships no stale README drafts', () => {
    expect(readdirSync(join(ROOT, 'docs')).filter((f) => /^readme-/i.test(f))).toEqual([]);
  });
  it('has no relative link to a missing file, in README.md or docs/', () => {
    const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/i.test(target!)) continue; // http:, mailto:
        if (!existsSync(join(ROOT, dirname(file), target!))) broken.push(`${file} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
