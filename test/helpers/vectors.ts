/**
 * Reads test vectors: `test/vectors/<protocol>/<name>.json`, each file
 * `{ "protocol": "joint", "section": "§15.1", "vectors": [ { "id": "J1", "input": "04 00 41", ... } ] }`.
 * Hex strings may contain spaces. Every other field is the suite's own (expected units, error
 * name, output hex). Native, fallback and interop runs share these files.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface VectorFile<V> {
  protocol: string;
  section: string;
  vectors: V[];
}

const VECTOR_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors');

/** Load one vector file. */
export function loadVectors<V = Record<string, unknown>>(protocol: string, name: string): VectorFile<V> {
  return JSON.parse(readFileSync(join(VECTOR_ROOT, protocol, `${name}.json`), 'utf8')) as VectorFile<V>;
}

/** Names of the vector files of a protocol. */
export function vectorNames(protocol: string): string[] {
  return readdirSync(join(VECTOR_ROOT, protocol))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5));
}

/** `"04 00 41"` or `"040041"` → bytes. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${text}`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

/** Bytes → `"04 00 41"`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

/** Every way of splitting `input` into two pieces, plus byte by byte: for split-invariance tests. */
export function* splits(input: Uint8Array): Generator<Uint8Array[]> {
  yield [input];
  for (let i = 1; i < input.length; i++) yield [input.subarray(0, i), input.subarray(i)];
  if (input.length > 1) yield Array.from(input, (_, i) => input.subarray(i, i + 1));
}
