/**
 * What an event's data may hold: JSON that pyDumps sends and a JSON reader gets back exactly
 * (EventClient.event() refuses anything else at the API edge).
 */
import { describeType } from '../core/validate.js';
import { MAX_JSON_DEPTH } from './limits.js';

/**
 * Refuse what JSON cannot carry exactly (issue 16): pyDumps would skip or change it silently
 * (a function dropped, a Map sent as `{}`), and a JSON reader rounds an integer past 2^53.
 * @throws TypeError naming the path of the first such value
 */
export function checkJsonData(value: unknown, path: string, depth: number, ancestors: object[]): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path} is ${value}, which JSON cannot carry`);
      return;
    case 'bigint':
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new TypeError(`${path} is a BigInt beyond ±(2^53 − 1), which a JSON reader would round; send it as a string`);
      }
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`${path} is ${value === undefined ? 'undefined' : describeType(value)}, which JSON cannot carry`);
  }
  if (value === null) return;
  if (depth >= MAX_JSON_DEPTH) throw new TypeError(`${path} nests deeper than ${MAX_JSON_DEPTH}`);
  if (ancestors.includes(value)) throw new TypeError(`${path} refers back to one of its parents (a cycle), which JSON cannot carry`);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    // The object says how it travels (a Date as its ISO string): check what it says instead.
    checkJsonData((toJSON as () => unknown).call(value), path, depth + 1, [...ancestors, value]);
    return;
  }
  ancestors.push(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkJsonData(value[i], `${path}[${i}]`, depth + 1, ancestors);
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`${path} is ${describeType(value)}, which JSON would not carry as it is; convert it to a plain object or array`);
    }
    if (Object.getOwnPropertySymbols(value).length > 0) throw new TypeError(`${path} has a symbol key, which JSON cannot carry`);
    for (const key of Object.keys(value)) checkJsonData((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, ancestors);
  }
  ancestors.pop();
}
