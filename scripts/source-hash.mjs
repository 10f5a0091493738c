// The addon's source stamp: sha256 over binding.gyp and every file under native/ (folders too), in name
// order, each as `name NUL content NUL`. binding.gyp compiles it into the addon as `sourceHash`
// (`<!(node scripts/source-hash.mjs)`); src/core/load.ts imports sourceHash from here (the
// package ships this file) and refuses an addon (a stale prebuild or build) whose stamp differs
// (TOOLCHAIN.md). scripts/source-hash.d.mts gives TypeScript its types.
//
//   node scripts/source-hash.mjs [root]    prints the hash of root (default: the package root)
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Characters of the stamp kept (hex): 64 bits are plenty to tell sources apart. */
export const SOURCE_HASH_CHARS = 16;

/**
 * The source stamp of the addon sources under `root`.
 * @param {string} root the package root (holds binding.gyp and native/)
 * @returns {string} SOURCE_HASH_CHARS hex characters
 */
export function sourceHash(root) {
  const hash = createHash('sha256');
  const files = [['binding.gyp', join(root, 'binding.gyp')]];
  addTree(files, root, 'native');
  for (const [name, path] of files) {
    hash.update(name);
    hash.update('\0');
    hash.update(readFileSync(path));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, SOURCE_HASH_CHARS);
}

/**
 * Push every file under `dir` (relative to root, '/'-separated names) in name order, folders
 * included (native/engine/ is part of the addon too: a stamp blind to it let a stale build load).
 */
function addTree(files, root, dir) {
  for (const name of readdirSync(join(root, dir)).sort()) {
    const rel = `${dir}/${name}`;
    const path = join(root, rel);
    if (statSync(path).isDirectory()) addTree(files, root, rel);
    else files.push([rel, path]);
  }
}

const invokedDirectly = process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url;
if (invokedDirectly) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  process.stdout.write(`${sourceHash(root)}\n`);
}
