// `npm install` step for the addon. Never fails the install: without the addon the library runs
// on its TypeScript fallback and says so (issue 2). Prints exactly one line:
//   - a prebuild in prebuilds/<platform>-<arch>/ whose source stamp matches native/ and
//     binding.gyp is used as is (no compiler needed); set GAMEWIRE_BUILD_FROM_SOURCE=1 (or
//     npm_config_build_from_source=true) to build anyway;
//   - otherwise, when node-gyp and a C++ compiler are present, `node-gyp rebuild` (output in
//     build/addon-build.log), and the result's stamp is checked;
//   - otherwise, or when the build fails, a line saying the fallback will run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNodedir } from './prebuild.mjs';
import { sourceHash } from './source-hash.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const FALLBACK = 'the library will run on the TypeScript fallback';

function say(line) {
  console.log(`gamewire: ${line}`);
}

/** The stamp of an addon file, read in a child process so a broken binary cannot hurt the install. */
function stampOf(file) {
  const r = spawnSync(process.execPath, ['-p', `require(${JSON.stringify(file)}).sourceHash`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** The matching prebuild for this platform, if one carries `expected`. */
function freshPrebuild(expected) {
  const folder = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!existsSync(folder)) return null;
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.node'))) {
    if (stampOf(join(folder, file)) === expected) return join('prebuilds', `${process.platform}-${process.arch}`, file);
  }
  return null;
}

/** node-gyp as [command, ...args]: ours (devDependency), else the one npm bundles. */
function findNodeGyp() {
  const local = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(local)) return [process.execPath, local];
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && existsSync(bundled)) return [process.execPath, bundled];
  return null;
}

function compilerWorks() {
  const r = spawnSync(process.env.CXX || 'c++', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

function main() {
  if (!existsSync(join(root, 'binding.gyp'))) return;
  const expected = sourceHash(root);
  const force = process.env.GAMEWIRE_BUILD_FROM_SOURCE === '1' || process.env.npm_config_build_from_source === 'true';
  if (!force) {
    const prebuild = freshPrebuild(expected);
    if (prebuild) return say(`using the prebuilt addon ${prebuild} (source stamp ${expected})`);
  }
  const noPrebuild = force ? '' : ' and no matching prebuild';
  const gyp = findNodeGyp();
  if (gyp === null) return say(`no node-gyp to build the addon${noPrebuild}; ${FALLBACK}`);
  if (!compilerWorks()) return say(`no C++ compiler to build the addon${noPrebuild}; ${FALLBACK}`);
  const env = { ...process.env };
  const nodedir = findNodedir();
  if (nodedir) env.npm_config_nodedir = nodedir;
  const r = spawnSync(gyp[0], [...gyp.slice(1), 'rebuild'], { cwd: root, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  mkdirSync(join(root, 'build'), { recursive: true });
  const log = join('build', 'addon-build.log');
  writeFileSync(join(root, log), `${r.stdout ?? ''}\n${r.stderr ?? ''}\n${r.error ? String(r.error) : ''}`);
  if (r.status !== 0) return say(`the addon did not build (see ${log}); ${FALLBACK}`);
  const built = join(root, 'build', 'Release', 'gamewire.node');
  const stamp = existsSync(built) ? stampOf(built) : null;
  if (stamp !== expected) return say(`the built addon does not load or is stale (see ${log}); ${FALLBACK}`);
  say(`addon built: build/Release/gamewire.node (source stamp ${stamp})`);
}

try {
  main();
} catch (err) {
  say(`addon step failed (${err?.message ?? err}); ${FALLBACK}`);
}
