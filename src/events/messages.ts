/**
 * The Neteria message catalogue (neteria.md §3): one builder per message, writing the keys in
 * the order the original emits them, and one reader that checks a received datagram cheapest
 * test first (size, UTF-8 JSON, object, method, required keys and their types) and returns a
 * typed message or the reason it was dropped. Nothing here throws on network input.
 */
import { MAX_DATAGRAM_BYTES } from './limits.js';
import { parseDatagram, pyDumps, pyString } from './python-json.js';

/** A priority as sent on the wire. The original echoes any string; we send only these two. */
export type Priority = 'normal' | 'high';

/** Judgement method names. */
export type Judgement = 'LEGAL' | 'ILLEGAL';

/** A datagram a server can receive, validated. */
export type ServerInbound =
  | { method: 'OHAI'; version: string; cuuid: string }
  | { method: 'REGISTER'; cuuid: string; encryption: boolean }
  | { method: 'EVENT'; cuuid: string; euuid: string; eventData: unknown; priority: string; retry: number }
  | { method: 'OK EVENT'; cuuid: string; euuid: string }
  | { method: 'OK NOTIFY'; cuuid: string; euuid: string };

/** A datagram a client can receive, validated. */
export type ClientInbound =
  | { method: 'OHAI Client'; version: string; serverName: unknown }
  | { method: 'BYE REGISTER' }
  | { method: 'OK REGISTER' }
  | { method: 'LEGAL' | 'ILLEGAL'; euuid: string; priority: string | undefined }
  | { method: 'BYE EVENT'; data: unknown }
  | { method: 'NOTIFY'; euuid: string; eventData: unknown };

/** The outcome of reading a datagram: the message, or why it was dropped. */
export type ReadResult<M> = { ok: true; message: M } | { ok: false; reason: string };

// --- builders (neteria.md §3, key order as listed there) -------------------------------------

/** `{"method": "OHAI", "version": …, "cuuid": …}` (N10). */
export function ohai(version: string, cuuid: string): string {
  return `{"method": "OHAI", "version": ${pyString(version)}, "cuuid": ${pyString(cuuid)}}`;
}

/** `{"method": "OHAI Client", "version": …, "server_name": …}` (N2, N14). */
export function ohaiClient(version: string, serverName: string | null): string {
  return `{"method": "OHAI Client", "version": ${pyString(version)}, "server_name": ${serverName === null ? 'null' : pyString(serverName)}}`;
}

/** `{"method": "BYE REGISTER"}` (N1). */
export const BYE_REGISTER = '{"method": "BYE REGISTER"}';

/** `{"method": "REGISTER", "cuuid": …}` (N11); we never offer `encryption` (§10). */
export function register(cuuid: string): string {
  return `{"method": "REGISTER", "cuuid": ${pyString(cuuid)}}`;
}

/** `{"method": "OK REGISTER"}` (N4). */
export const OK_REGISTER = '{"method": "OK REGISTER"}';

/** The EVENT fields that stay the same across resends. */
export interface EventFields {
  cuuid: string;
  euuid: string;
  /** `event_data`, already serialised with pyDumps. */
  dataJson: string;
  timestamp: string;
  priority: string;
}

/** `{"method": "EVENT", "cuuid", "euuid", "event_data", "timestamp", "retry", "priority"}` (N12). */
export function event(fields: EventFields, retry: number): string {
  return (
    `{"method": "EVENT", "cuuid": ${pyString(fields.cuuid)}, "euuid": ${pyString(fields.euuid)}, ` +
    `"event_data": ${fields.dataJson}, "timestamp": ${pyString(fields.timestamp)}, "retry": ${retry}, ` +
    `"priority": ${pyString(fields.priority)}}`
  );
}

/** `{"method": "LEGAL"|"ILLEGAL", "euuid": …, "priority": …}` (N5); priority echoes the event's. */
export function judgement(method: Judgement, euuid: string, priority: string): string {
  return `{"method": "${method}", "euuid": ${pyString(euuid)}, "priority": ${pyString(priority)}}`;
}

/** `{"method": "BYE EVENT", "data": "Not registered"}` (N3). */
export const BYE_EVENT = '{"method": "BYE EVENT", "data": "Not registered"}';

/** `{"cuuid": …, "method": "OK EVENT", "euuid": …}` (N13: cuuid first). */
export function okEvent(cuuid: string, euuid: string): string {
  return `{"cuuid": ${pyString(cuuid)}, "method": "OK EVENT", "euuid": ${pyString(euuid)}}`;
}

/** `{"method": "NOTIFY", "event_data": …, "euuid": …}` (N6, N15). */
export function notify(dataJson: string, euuid: string): string {
  return `{"method": "NOTIFY", "event_data": ${dataJson}, "euuid": ${pyString(euuid)}}`;
}

/** `{"cuuid": …, "method": "OK NOTIFY", "euuid": …}`. */
export function okNotify(cuuid: string, euuid: string): string {
  return `{"cuuid": ${pyString(cuuid)}, "method": "OK NOTIFY", "euuid": ${pyString(euuid)}}`;
}

/**
 * Serialise application data for `event_data`.
 * @throws {TypeError} when `data` is not JSON-serialisable (pyDumps).
 */
export function dataJson(data: unknown): string {
  if (data === undefined) throw new TypeError('event data must be a JSON value, got undefined');
  return pyDumps(data);
}

// --- readers -----------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function decode(bytes: Uint8Array): ReadResult<Obj> {
  // Cheapest first: size, then UTF-8 JSON, then shape (neteria.md §1 "receiving").
  if (bytes.length > MAX_DATAGRAM_BYTES) return { ok: false, reason: `datagram of ${bytes.length} bytes over ${MAX_DATAGRAM_BYTES}` };
  const value = parseDatagram(bytes);
  if (value === undefined) return { ok: false, reason: 'not UTF-8 JSON' };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' };
  const obj = value as Obj;
  if (typeof obj.method !== 'string') return { ok: false, reason: 'no method string' };
  return { ok: true, message: obj };
}

function has(obj: Obj, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

function str(obj: Obj, key: string): string | undefined {
  const v = has(obj, key) ? obj[key] : undefined;
  return typeof v === 'string' ? v : undefined;
}

function missing(method: string, key: string): { ok: false; reason: string } {
  return { ok: false, reason: `${method} without a valid ${key}` };
}

/** Read a datagram sent to a server. AUTH (broken in the original, §10) is dropped. */
export function readServerInbound(bytes: Uint8Array): ReadResult<ServerInbound> {
  const d = decode(bytes);
  if (!d.ok) return d;
  const m = d.message;
  const method = m.method as string;
  // Every client message carries cuuid; the original reads it before dispatching.
  const cuuid = str(m, 'cuuid');
  if (cuuid === undefined) return missing(method, 'cuuid');
  switch (method) {
    case 'OHAI': {
      const version = str(m, 'version');
      if (version === undefined) return missing(method, 'version');
      return { ok: true, message: { method, version, cuuid } };
    }
    case 'REGISTER':
      return { ok: true, message: { method, cuuid, encryption: has(m, 'encryption') } };
    case 'EVENT': {
      const euuid = str(m, 'euuid');
      if (euuid === undefined) return missing(method, 'euuid');
      if (!has(m, 'event_data')) return missing(method, 'event_data');
      // The original reads timestamp (opaque) and priority; retry is informational.
      if (!has(m, 'timestamp')) return missing(method, 'timestamp');
      const priority = str(m, 'priority');
      if (priority === undefined) return missing(method, 'priority');
      const retry = typeof m.retry === 'number' && Number.isInteger(m.retry) ? m.retry : 0;
      return { ok: true, message: { method, cuuid, euuid, eventData: m.event_data, priority, retry } };
    }
    case 'OK EVENT':
    case 'OK NOTIFY': {
      const euuid = str(m, 'euuid');
      if (euuid === undefined) return missing(method, 'euuid');
      return { ok: true, message: { method, cuuid, euuid } };
    }
    default:
      return { ok: false, reason: `unknown or unsupported method ${JSON.stringify(method.slice(0, 40))}` };
  }
}

/** Read a datagram sent to a client. */
export function readClientInbound(bytes: Uint8Array): ReadResult<ClientInbound> {
  const d = decode(bytes);
  if (!d.ok) return d;
  const m = d.message;
  const method = m.method as string;
  switch (method) {
    case 'OHAI Client': {
      const version = str(m, 'version');
      if (version === undefined) return missing(method, 'version');
      return { ok: true, message: { method, version, serverName: has(m, 'server_name') ? m.server_name : null } };
    }
    case 'BYE REGISTER':
    case 'OK REGISTER':
      return { ok: true, message: { method } };
    case 'LEGAL':
    case 'ILLEGAL': {
      const euuid = str(m, 'euuid');
      if (euuid === undefined) return missing(method, 'euuid');
      return { ok: true, message: { method, euuid, priority: str(m, 'priority') } };
    }
    case 'BYE EVENT':
      return { ok: true, message: { method, data: m.data } };
    case 'NOTIFY': {
      const euuid = str(m, 'euuid');
      if (euuid === undefined) return missing(method, 'euuid');
      if (!has(m, 'event_data')) return missing(method, 'event_data');
      return { ok: true, message: { method, euuid, eventData: m.event_data } };
    }
    default:
      return { ok: false, reason: `unknown method ${JSON.stringify(method.slice(0, 40))}` };
  }
}
