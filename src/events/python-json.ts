/**
 * JSON text as Python's `json.dumps(obj)` writes it with default arguments (neteria.md §1), so
 * that our datagrams are byte-identical to the original's:
 *
 * - separators `", "` and `": "`, no other whitespace;
 * - `ensure_ascii`: every UTF-16 unit outside 0x20..0x7E is `\uXXXX` in lowercase hex, so a
 *   character above U+FFFF becomes its surrogate pair; `"` `\` and `\n \r \t \b \f` use their
 *   short forms; `/` is not escaped;
 * - numbers: **an integer-valued number prints as an integer** (`1`, `-3`, `12345678901234567168`),
 *   because JavaScript cannot tell Python's `1.0` from `1`; any other number prints in Python's
 *   float repr (`0.5`, `1e-05`, `1.5e-07`). Python's own output for a float that happens to be
 *   integral (`1.0`) is therefore not reproduced; this is allowed (neteria.md §1: "byte-exact
 *   float formatting is not required for interop"). NaN and ±Infinity, which Python would write
 *   as bare words that are not JSON, are a TypeError.
 * - object keys in insertion order (JavaScript puts integer-like keys first, Python does not;
 *   our protocol keys are never integer-like). `undefined`, function and symbol members are
 *   skipped and become `null` in arrays, and `toJSON()` is honoured, as `JSON.stringify` does.
 */
import { MAX_JSON_DEPTH } from './limits.js';

// Units that need no escape: printable ASCII except `"` (0x22) and `\` (0x5c).
const NEEDS_ESCAPE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x08: '\\b',
  0x0c: '\\f',
};

const HEX = '0123456789abcdef';

/** A string as a Python `ensure_ascii` JSON string literal, quotes included. */
export function pyString(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return `"${text}"`;
  let out = '"';
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += text.slice(run, i);
    run = i + 1;
    const short = SHORT_ESCAPES[c];
    out += short ?? `\\u${HEX[(c >> 12) & 15]}${HEX[(c >> 8) & 15]}${HEX[(c >> 4) & 15]}${HEX[c & 15]}`;
  }
  return `${out}${text.slice(run)}"`;
}

/**
 * A number as Python writes it (see the module comment for the integer rule).
 * @throws {TypeError} for NaN and ±Infinity.
 */
export function pyNumber(value: number): string {
  if (!Number.isFinite(value)) throw new TypeError(`cannot serialise ${value}: not valid JSON`);
  if (Number.isInteger(value)) {
    // Past 2^53 String() rounds the digits (12345678901234567000) and at 1e21 switches to
    // exponent form; Python prints an int's exact digits, which BigInt gives.
    return Number.isSafeInteger(value) ? String(value === 0 ? 0 : value) : BigInt(value).toString();
  }
  // A non-integer double is below 2^53 < 1e16 in magnitude, so of Python's two switch points
  // (exponent < -4 or >= 16) only the small one applies. Both languages print the shortest
  // round-trip digits; only the layout differs.
  if (Math.abs(value) >= 1e-4) return String(value);
  const exp = value.toExponential(); // shortest digits, e.g. "1.5e-7"
  const e = exp.indexOf('e');
  const mantissa = exp.slice(0, e);
  const sign = exp[e + 1] === '-' ? '-' : '+';
  const digits = exp.slice(e + 2);
  return `${mantissa}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
}

/**
 * Serialise `value` exactly as Python's `json.dumps(value)` would (module comment).
 * @param value any JSON-compatible value; bigint prints as an integer.
 * @returns pure-ASCII text, so its length in characters is its length in UTF-8 bytes.
 * @throws {TypeError} for a cycle, NaN/Infinity, a bare `undefined`/function/symbol, or nesting
 *   deeper than MAX_JSON_DEPTH.
 */
export function pyDumps(value: unknown): string {
  return write(value, 0, []);
}

function write(value: unknown, depth: number, stack: object[]): string {
  switch (typeof value) {
    case 'string':
      return pyString(value);
    case 'number':
      return pyNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      throw new TypeError(`cannot serialise a value of type ${typeof value}`);
  }
  if (value === null) return 'null';
  const withJson = value as { toJSON?: unknown };
  if (typeof withJson.toJSON === 'function') {
    return write((withJson.toJSON as () => unknown).call(value), depth, stack);
  }
  if (depth >= MAX_JSON_DEPTH) throw new TypeError(`cannot serialise: nesting deeper than ${MAX_JSON_DEPTH}`);
  if (stack.includes(value)) throw new TypeError('cannot serialise a circular structure');
  stack.push(value);
  let out: string;
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (const item of value as unknown[]) {
      parts.push(isSkipped(item) ? 'null' : write(item, depth + 1, stack));
    }
    out = `[${parts.join(', ')}]`;
  } else {
    const parts: string[] = [];
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      if (isSkipped(item)) continue;
      parts.push(`${pyString(key)}: ${write(item, depth + 1, stack)}`);
    }
    out = `{${parts.join(', ')}}`;
  }
  stack.pop();
  return out;
}

function isSkipped(item: unknown): boolean {
  return item === undefined || typeof item === 'function' || typeof item === 'symbol';
}

const DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parse a received datagram: strict UTF-8 (a BOM is not skipped, as Python's `json.loads`
 * refuses one), then any valid JSON spacing, order and escaping.
 * @returns the value, or `undefined` when the bytes are not valid UTF-8 JSON.
 */
export function parseDatagram(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = DECODER.decode(bytes);
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
