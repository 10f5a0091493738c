/**
 * `npm run bench -- <suite> [args]`: runs `bench/<suite>.bench.ts` in a fresh process so JIT and
 * GC state do not leak between suites. With no suite, lists the suites.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const suites = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length));
const [suite, ...rest] = process.argv.slice(2);
if (!suite || !suites.includes(suite)) {
  process.stdout.write(`usage: npm run bench -- <suite>\nsuites: ${suites.join(', ')}\n`);
  process.exit(suite ? 2 : 0);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, `${suite}.bench.ts`), ...rest], { stdio: 'inherit' });
process.exit(result.status ?? 1);
