/**
 * The pre-shared key: 32 hex digits (AES-128) or 64 (AES-256), docs/protocol.md §3.
 */

/**
 * Parse a hex key.
 * @param key the key as given by the user; undefined, null or '' mean "no key"
 * @returns the key bytes, null for no key, or a string naming the problem
 */
export function parseKey(key: unknown): Uint8Array | null | string {
  if (key === undefined || key === null || key === '') return null;
  if (typeof key !== 'string') return `key must be a string of 32 or 64 hex digits, got a ${typeof key}`;
  if (key.length !== 32 && key.length !== 64) {
    return `key must be 32 hex digits (AES-128) or 64 (AES-256), got ${key.length} characters`;
  }
  if (!/^[0-9a-fA-F]+$/.test(key)) return 'key must contain only hex digits 0-9 a-f';
  const out = new Uint8Array(key.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(key.substr(i * 2, 2), 16);
  return out;
}
