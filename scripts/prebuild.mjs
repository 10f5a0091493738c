// `npm run prebuild`: the N-API prebuild for this platform, prebuilds/<platform>-<arch>/, made by
// `prebuildify --napi --strip` and found by node-gyp-build (STYLE.md §6). N-API, so one binary
// serves every Node version; the package ships it because npm 11 skips dependencies' install
// scripts (TOOLCHAIN.md). The addon carries its source stamp (scripts/source-hash.mjs); this
// script checks the result matches the sources, so a committed prebuild is never stale.
//
// prebuildify would download Node headers unless told where they are: npm_config_nodedir comes
// from npm's `nodedir` setting (or the running node's own prefix when it has headers).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sourceHash } from './source-hash.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where Node's headers are: npm's nodedir setting, else this node's prefix if it has them. */
export function findNodedir() {
  const fromEnv = process.env.npm_config_nodedir;
  if (fromEnv) return fromEnv;
  const npm = spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const configured = npm.status === 0 ? npm.stdout.trim() : '';
  if (configured && configured !== 'undefined' && configured !== 'null') return configured;
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function main() {
  const nodedir = findNodedir();
  const env = { ...process.env };
  if (nodedir) env.npm_config_nodedir = nodedir;
  const bin = join(root, 'node_modules', '.bin', 'prebuildify');
  const result = spawnSync(bin, ['--napi', '--strip'], { cwd: root, env, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`prebuild: prebuildify failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
  const folder = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const files = readdirSync(folder).filter((f) => f.endsWith('.node'));
  const expected = sourceHash(root);
  const require = createRequire(import.meta.url);
  for (const file of files) {
    const stamp = require(join(folder, file)).sourceHash;
    if (stamp !== expected) {
      console.error(`prebuild: ${file} carries stamp ${stamp}, sources are ${expected}`);
      process.exit(1);
    }
    console.log(`prebuild: prebuilds/${process.platform}-${process.arch}/${file} (source stamp ${stamp})`);
  }
}

const invokedDirectly = process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url;
if (invokedDirectly) main();
