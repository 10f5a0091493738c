// Builds the browser bundle: src/browser/index.ts -> dist/browser/gamewire.js (ES module,
// readable) and dist/browser/gamewire.min.js (minified), each with its source map.
//
//   node scripts/build-browser.mjs            build (called by `npm run build:ts`)
//   node scripts/build-browser.mjs --check    build only when a source is newer than the bundle
//   node scripts/build-browser.mjs --entry <file.ts> --outfile <file.js>   another entry (tests)
//
// In a browser only the TypeScript fallbacks run (no addon) and WebCrypto replaces node:crypto,
// so the build FAILS when anything reachable from the entry imports a Node built-in (`fs`,
// `node:crypto`, ...), a Node-only package (`ws`, `node-gyp-build`, ...), a `.node` binary, or
// the addon loader of src/core (load.ts, native.ts). The error names the importing file.
import { builtinModules } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The bundle's entry and output, relative to the package root. */
export const BROWSER_ENTRY = join(ROOT, 'src', 'browser', 'index.ts');
export const BROWSER_BUNDLE = join(ROOT, 'dist', 'browser', 'gamewire.js');
/** The minified twin of BROWSER_BUNDLE (`gamewire/browser/min`), for a page that loads it directly. */
export const BROWSER_BUNDLE_MIN = join(ROOT, 'dist', 'browser', 'gamewire.min.js');

/** Packages that only work on Node: importing one from browser code is a build error. */
const NODE_ONLY_PACKAGES = new Set(['ws', 'node-gyp-build', 'bufferutil', 'prom-client', 'socket.io', 'benchmark']);

/** Files of src/core that load the addon (STYLE.md §6: only the loader touches it). */
const ADDON_FILES = [join(ROOT, 'src', 'core', 'load.ts'), join(ROOT, 'src', 'core', 'native.ts')];

const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

function packageName(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/')) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function shown(path) {
  return path ? relative(ROOT, path) || path : '(entry)';
}

/** esbuild plugin rejecting every import a browser cannot satisfy. */
const browserGuard = {
  name: 'gamewire-browser-guard',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const spec = args.path;
      const from = shown(args.importer);
      if (BUILTINS.has(spec) || spec.startsWith('node:')) {
        return { errors: [{ text: `Node built-in "${spec}" imported by ${from}: not available in browsers` }] };
      }
      const pkg = packageName(spec);
      if (pkg !== null && NODE_ONLY_PACKAGES.has(pkg)) {
        return { errors: [{ text: `Node-only package "${spec}" imported by ${from}: not available in browsers` }] };
      }
      if (spec.endsWith('.node')) {
        return { errors: [{ text: `native addon "${spec}" imported by ${from}: browsers run the TypeScript fallbacks` }] };
      }
      if (spec.startsWith('.') && args.resolveDir) {
        const target = resolve(args.resolveDir, spec).replace(/\.js$/, '.ts');
        if (ADDON_FILES.includes(target)) {
          return { errors: [{ text: `addon loader ${shown(target)} imported by ${from}: browsers run the TypeScript fallbacks; import the component twins directly` }] };
        }
      }
      return undefined;
    });
  },
};

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** True when the bundle is missing or older than any source under src/ or this script. */
export function browserBundleIsStale() {
  if (!existsSync(BROWSER_BUNDLE) || !existsSync(BROWSER_BUNDLE_MIN)) return true;
  const built = Math.min(statSync(BROWSER_BUNDLE).mtimeMs, statSync(BROWSER_BUNDLE_MIN).mtimeMs);
  const self = statSync(fileURLToPath(import.meta.url)).mtimeMs;
  return Math.max(newestMtime(join(ROOT, 'src')), self) > built;
}

/**
 * Bundle `entry` into `outfile` for browsers.
 * @param {{ entry?: string, outfile?: string, minify?: boolean, quiet?: boolean }} [options]
 * @returns {Promise<{ outfile: string, bytes: number, gzipBytes: number, inputs: string[] }>}
 * @throws when esbuild fails, including any forbidden import (see the top of this file).
 */
export async function buildBrowser(options = {}) {
  const { build } = await import('esbuild');
  const entry = options.entry ?? BROWSER_ENTRY;
  const outfile = options.outfile ?? BROWSER_BUNDLE;
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Chromium, Firefox and Safari of 2021 on; top-level await and class fields are native there.
    target: ['es2022'],
    sourcemap: true,
    minify: options.minify ?? false,
    // `process.env.*` probes in shared code read as undefined in a browser instead of throwing.
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    // Written below through a temporary name, so a concurrent reader (parallel test files
    // building on demand) never loads a half-written bundle.
    write: false,
    logLevel: options.quiet ? 'silent' : 'warning',
    plugins: [browserGuard],
  });
  for (const file of result.outputFiles) {
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
  const inputs = Object.keys(result.metafile.inputs);
  const bytes = statSync(outfile).size;
  const gzipBytes = gzipSync(readFileSync(outfile), { level: 9 }).length;
  if (!options.quiet) {
    process.stdout.write(
      `build-browser: ${relative(ROOT, outfile)} ${(bytes / 1024).toFixed(1)} KiB from ${inputs.length} modules (${(gzipBytes / 1024).toFixed(1)} KiB gzipped)\n`,
    );
  }
  return { outfile, bytes, gzipBytes, inputs };
}

/**
 * Build the package's two bundles: the readable one and the minified one.
 * @returns both results, readable first
 */
export async function buildBrowserBundles(options = {}) {
  const readable = await buildBrowser({ ...options, outfile: BROWSER_BUNDLE, minify: false });
  const minified = await buildBrowser({ ...options, outfile: BROWSER_BUNDLE_MIN, minify: true });
  return [readable, minified];
}

const invokedDirectly = process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url;
if (invokedDirectly) {
  const argv = process.argv.slice(2);
  const option = (name) => {
    const at = argv.indexOf(name);
    return at >= 0 && at + 1 < argv.length ? resolve(argv[at + 1]) : undefined;
  };
  const entry = option('--entry');
  const outfile = option('--outfile');
  const checkOnly = argv.includes('--check');
  if (checkOnly && entry === undefined && !browserBundleIsStale()) {
    process.stdout.write(`build-browser: ${relative(ROOT, BROWSER_BUNDLE)} is up to date\n`);
  } else {
    const built = entry === undefined && outfile === undefined ? buildBrowserBundles() : buildBrowser({ entry, outfile });
    built.catch((err) => {
      // esbuild has already printed each error with its location.
      process.stderr.write(`build-browser: failed${err?.errors ? '' : `: ${err?.message ?? err}`}\n`);
      process.exitCode = 1;
    });
  }
}
