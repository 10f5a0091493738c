// After `tsc`: make the CLI executable. (The browser bundle step is added by issue 6.)
import { chmodSync, existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (existsSync(cli)) chmodSync(cli, 0o755);
