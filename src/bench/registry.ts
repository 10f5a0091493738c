/**
 * Where each kind's driver comes from. A driver lives in `./drivers/<kind>.ts` and exports
 * `createDriver: DriverFactory`; it is imported on first use, so a run of one kind never loads
 * the others' protocol code. A DriverModule names a factory by module URL, which is what a
 * worker thread can be told (a function cannot be posted to it).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GamewireErrorCode } from '../core/error-codes.js';
import { GamewireTypeError } from '../core/errors.js';
import type { BenchKind, DriverFactory } from './types.js';

/**
 * A driver factory by module: `import(url)[name]`, called with `args` when given (the export is
 * then a function returning the factory), else itself the factory. Everything in it must survive
 * structuredClone (it is posted to worker threads).
 */
export interface DriverModule {
  /** file: URL (or absolute path) of the module. A `.js` URL whose file is missing falls back to `.ts` (running from source). */
  readonly url: string;
  /** The export; default `createDriver`. */
  readonly name?: string;
  /** Arguments of the export when it makes the factory (e.g. NullDriverOptions). */
  readonly args?: readonly unknown[];
}

/** The module of a kind's driver. */
export function driverModule(kind: BenchKind): DriverModule {
  return { url: new URL(`./drivers/${kind}.js`, import.meta.url).href };
}

/**
 * The URL to import for `url`: from dist the `.js` file exists; from source (tsx, vitest) only
 * the `.ts` one does, and both loaders import a `.ts` URL.
 */
export function importableUrl(url: string): string {
  const href = url.startsWith('file:') ? url : new URL(`file://${url}`).href;
  if (!href.endsWith('.js') || !href.startsWith('file:')) return href;
  if (existsSync(fileURLToPath(href))) return href;
  const ts = `${href.slice(0, -3)}.ts`;
  return existsSync(fileURLToPath(ts)) ? ts : href;
}

const cache = new Map<string, Promise<unknown>>();

/**
 * Imports a DriverModule and returns its factory.
 * @throws GamewireTypeError (as a rejection) when the export is missing or not a function
 */
export async function loadFactory(source: DriverModule): Promise<DriverFactory> {
  const url = importableUrl(source.url);
  let loading = cache.get(url);
  if (loading === undefined) {
    loading = import(/* @vite-ignore */ url);
    cache.set(url, loading);
    loading.catch(() => cache.delete(url));
  }
  const mod = (await loading) as Record<string, unknown>;
  const name = source.name ?? 'createDriver';
  const value = mod[name];
  if (typeof value !== 'function') {
    throw new GamewireTypeError(GamewireErrorCode.BadOption, `bench: ${source.url} has no function export ${name}`);
  }
  if (source.args !== undefined) {
    const made = (value as (...args: unknown[]) => unknown)(...source.args);
    if (typeof made !== 'function') {
      throw new GamewireTypeError(GamewireErrorCode.BadOption, `bench: ${name}(...args) of ${source.url} did not return a driver factory`);
    }
    return made as DriverFactory;
  }
  return value as DriverFactory;
}

/** The factory of a kind (its driver module imported on first use). */
export function loadKind(kind: BenchKind): Promise<DriverFactory> {
  return loadFactory(driverModule(kind));
}
