/**
 * The saved corpus: `test/corpus/<target>/<name>.bin`, raw input bytes. Interesting inputs
 * (a new behaviour signature) are named `<sha1-12>.bin`; inputs that failed are named
 * `failure-<sha1-12>.bin` and fail `npm test` (corpus replay) until fixed.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'corpus');

/** Most files a fuzz run keeps per target, so the replay in `npm test` stays bounded. */
export const MAX_CORPUS_FILES = 64;
/** Largest input kept in the corpus (bytes); bigger finds are kept only when they failed. */
export const MAX_CORPUS_FILE_BYTES = 4096;

export interface CorpusFile {
  name: string;
  bytes: Uint8Array;
}

/** The files of one target, sorted by name. */
export function readCorpus(target: string): CorpusFile[] {
  const dir = join(CORPUS_ROOT, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) }));
}

/** Save one input; returns the file name. */
export function saveCorpus(target: string, bytes: Uint8Array, failure = false): string {
  const name = `${failure ? 'failure-' : ''}${createHash('sha1').update(bytes).digest('hex').slice(0, 12)}.bin`;
  const path = join(CORPUS_ROOT, target, name);
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) writeFileSync(path, bytes);
  return name;
}
