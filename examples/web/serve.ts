/**
 * Start the dots example: `node --import tsx examples/web/serve.ts [--host H] [--port P] [--relay-port R]`
 * then open the printed address in several tabs and move with the arrow keys.
 * Builds dist/browser/gamewire.js first when it is missing or stale.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOrExit } from '../exit-on-error.js';
import { startWebExample } from './server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1]! : fallback;
}

execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-browser.mjs'), '--check'], { cwd: ROOT, stdio: 'inherit' });

const example = await startOrExit('gamewire dots', () =>
  startWebExample({
    host: option('--host', '127.0.0.1'),
    httpPort: Number(option('--port', '8080')),
    relayPort: Number(option('--relay-port', '7680')),
    log: (line) => console.log(line),
  }),
);
console.log(`gamewire dots: open ${example.url} in two or more tabs (relay on port ${example.relayPort}); Ctrl+C stops`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  example.close().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
