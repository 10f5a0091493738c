import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

describe('examples/mm-game-loop', () => {
  it('runs from the README command and exits by itself with both players seeing each other', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/mm-game-loop/main.ts'], { encoding: 'utf8', timeout: 15_000 });
    expect(r.stdout).toMatch(/ann: connected = true/);
    expect(r.stdout).toMatch(/bob: connected = true/);
    expect(r.stdout).toMatch(/done: both players saw each other/);
    expect(r.status).toBe(0);
  }, 20_000);
});
