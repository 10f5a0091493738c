/**
 * `npm run bench -- <suite> [args]`: runs `bench/<suite>.bench.ts` (or `bench/<suite>.ts`) in a fresh process so JIT and
 * GC state do not leak between suites. With no suite, lists the suites.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// A suite is `bench/<suite>.bench.ts` or `bench/<suite>.ts` (anything but this runner and lib).
const suiteFiles = new Map<string, string>();
for (const f of readdirSync(here)) {
  if (!f.endsWith('.ts') || f === 'run.ts' || f === 'lib.ts') continue;
  suiteFiles.set(f.replace(/(\.bench)?\.ts$/, ''), f);
}
const suites = [...suiteFiles.keys()].sort();
const [suite, ...rest] = process.argv.slice(2);
if (!suite || !suites.includes(suite)) {
  process.stdout.write(`usage: npm run bench -- <suite>\nsuites: ${suites.join(', ')}\n`);
  process.exit(suite ? 2 : 0);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, suiteFiles.get(suite)!), ...rest], { stdio: 'inherit' });
process.exit(result.status ?? 1);
