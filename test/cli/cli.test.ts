/**
 * The `gamewire` command without a relay: version, a missing or unknown command (issue 16
 * item 10). The relay command itself is tested in test/relay/cli.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/exits-by-itself.js';

const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
const { version } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };

describe('gamewire', () => {
  it('--version (and -v) prints the package version and exits 0', () => {
    for (const flag of ['--version', '-v']) {
      const out = run(flag);
      expect(out.status).toBe(0);
      expect(out.stdout).toBe(`gamewire ${version}\n`);
      expect(out.stderr).toBe('');
    }
  });

  it('without a command says so on stderr, shows the commands and exits 2', () => {
    const out = run();
    expect(out.status).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr.split('\n')[0]).toBe('gamewire: missing command (try: gamewire relay)');
    expect(out.stderr).toContain('usage: gamewire <command> [options]');
    expect(out.stderr).toContain('--version');
  });

  it('an unknown command is named, exit 2', () => {
    const out = run('rleay');
    expect(out.status).toBe(2);
    expect(out.stderr.split('\n')[0]).toBe('gamewire: unknown command rleay');
  });

  it('--help lists the commands on stdout, exit 0', () => {
    const out = run('--help');
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^usage: gamewire <command>/);
    expect(out.stdout).toMatch(/relay .*run a relay/);
  });
});
