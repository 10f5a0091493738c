// `npm install` step: build the addon when binding.gyp exists and a compiler works. Never fails
// the install: without the addon the library runs on its TypeScript fallback (issue 2).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync('binding.gyp')) process.exit(0);
const result = spawnSync('npx', ['--no-install', 'node-gyp', 'rebuild'], { stdio: 'inherit' });
if (result.status !== 0) {
  console.log('gamewire: the addon did not build; the library will run on the TypeScript fallback.');
}
