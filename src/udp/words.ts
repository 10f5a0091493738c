/**
 * The handshake words codec (udpipe.md §2, §7). Control datagrams are ASCII words; data travels
 * raw. Our rule (docs/udp.md "Words"): a datagram is control when its payload is a reserved word
 * alone, or a reserved word followed by one space and anything (arguments or padding). Exact words
 * are what the original sends; the "word SP anything" form lets requests be padded so that no reply
 * is larger than its request. `send()` refuses every payload this rule would call control.
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { MAX_CONNECT_REPLY_BYTES, MAX_TOKEN_BYTES } from './limits.js';

/** What a datagram is, by the words rule. `Data` is everything else. */
export const enum Word {
  Data = 0,
  Hello = 1,
  Connect = 2,
  Connected = 3,
  GoAway = 4,
  Ping = 5,
  Pong = 6,
  Close = 7,
  Closed = 8,
}

/** Names for logs, indexed by Word. */
export const WORD_NAMES: readonly string[] = ['data', 'HELLO', 'CONNECT', 'CONNECTED', 'GO AWAY!', 'PING', 'PONG', 'CLOSE', 'CLOSED'];

const SPACE = 0x20;
const HELLO = Buffer.from('HELLO', 'latin1');
const CONNECT = Buffer.from('CONNECT', 'latin1');
const CONNECTED = Buffer.from('CONNECTED', 'latin1');
const GO_AWAY = Buffer.from('GO AWAY!', 'latin1');
const PING = Buffer.from('PING', 'latin1');
const PONG = Buffer.from('PONG', 'latin1');
const CLOSE = Buffer.from('CLOSE', 'latin1');
const CLOSED = Buffer.from('CLOSED', 'latin1');

/** True if `buf` is `word` alone or `word` followed by a space. */
function isWord(buf: Uint8Array, word: Buffer): boolean {
  const n = word.length;
  if (buf.length < n) return false;
  for (let i = 0; i < n; i++) if (buf[i] !== word[i]) return false;
  return buf.length === n || buf[n] === SPACE;
}

/**
 * Classify a datagram by the words rule. Cheapest test first: most data fails on its first byte.
 * @param buf the whole datagram payload.
 * @returns the control word, or `Word.Data`.
 */
export function classify(buf: Uint8Array): Word {
  if (buf.length < 4) return Word.Data;
  switch (buf[0]) {
    case 0x50: // P
      if (isWord(buf, PING)) return Word.Ping;
      if (isWord(buf, PONG)) return Word.Pong;
      return Word.Data;
    case 0x43: // C
      if (isWord(buf, CONNECT)) return Word.Connect;
      if (isWord(buf, CONNECTED)) return Word.Connected;
      if (isWord(buf, CLOSE)) return Word.Close;
      if (isWord(buf, CLOSED)) return Word.Closed;
      return Word.Data;
    case 0x48: // H
      return isWord(buf, HELLO) ? Word.Hello : Word.Data;
    case 0x47: // G
      return isWord(buf, GO_AWAY) ? Word.GoAway : Word.Data;
    default:
      return Word.Data;
  }
}

/** Outgoing control datagrams, built once. Never modified. */
export const PING_BYTES: Buffer = PING;
export const PONG_BYTES: Buffer = PONG;
export const CLOSED_BYTES: Buffer = CLOSED;
export const CONNECTED_BYTES: Buffer = CONNECTED;
/** CLOSE padded by one space to the length of its answer CLOSED (no reply larger than its request). */
export const CLOSE_PADDED_BYTES: Buffer = Buffer.from('CLOSE ', 'latin1');
/** CONNECT padded to the length of its answer CONNECTED. */
export const CONNECT_PADDED_BYTES: Buffer = Buffer.from('CONNECT  ', 'latin1');
/** The original's refusal. */
export const GO_AWAY_BYTES: Buffer = GO_AWAY;
/** Refusal with the cause (extension `refusalReasons`, not understood by the original). */
export const GO_AWAY_TOKEN_BYTES: Buffer = Buffer.from('GO AWAY! TOKEN', 'latin1');
/** Refusal with the cause (extension `refusalReasons`, not understood by the original). */
export const GO_AWAY_FULL_BYTES: Buffer = Buffer.from('GO AWAY! FULL', 'latin1');

/** Why a server refused, as the `refusalReasons` extension tells the client. */
export type Refusal = 'token' | 'full' | 'unknown';

/** The refusal cause of a `GO AWAY!` datagram: `unknown` for the original's bare form. */
export function parseGoAway(buf: Uint8Array): Refusal {
  if (buf.length === GO_AWAY_TOKEN_BYTES.length && GO_AWAY_TOKEN_BYTES.equals(buf)) return 'token';
  if (buf.length === GO_AWAY_FULL_BYTES.length && GO_AWAY_FULL_BYTES.equals(buf)) return 'full';
  return 'unknown';
}

/**
 * Check a token for `setToken()`: 1..MAX_TOKEN_BYTES printable ASCII bytes, no space.
 * @throws {TypeError} if it is not a string; {RangeError} if it breaks the rule.
 */
export function validateToken(token: string): Buffer {
  if (typeof token !== 'string') throw new TypeError('token must be a string');
  if (token.length < 1 || token.length > MAX_TOKEN_BYTES) throw new RangeError(`token must be 1..${MAX_TOKEN_BYTES} bytes`);
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c <= SPACE || c > 0x7e) throw new RangeError('token must be printable ASCII without spaces');
  }
  const bytes = Buffer.from(token, 'latin1');
  return bytes;
}

/**
 * `HELLO <token>`, padded with spaces to `padTo` bytes (the server reads the token up to the
 * first space and ignores the rest).
 */
export function encodeHello(token: Buffer, padTo: number): Buffer {
  const len = Math.max(HELLO.length + 1 + token.length, padTo);
  const out = Buffer.alloc(len, SPACE);
  HELLO.copy(out, 0);
  token.copy(out, HELLO.length + 1);
  return out;
}

/** `CONNECT <ip> <port>`, the server's accept reply (udpipe.md §2, message 2a). */
export function encodeConnectReply(ip: string, port: number): Buffer {
  return Buffer.from(`CONNECT ${ip} ${port}`, 'latin1');
}

/** Where the server sent the client, from `CONNECT <ip> <port>`; null if malformed. */
export interface ConnectTarget {
  ip: string;
  port: number;
}

/**
 * Parse `CONNECT <ip> <port>` (anything after a further space is ignored). The IP must be a
 * literal address, the port 1..65535 in decimal.
 * @returns the target, or null for a malformed reply.
 */
export function parseConnectReply(buf: Uint8Array): ConnectTarget | null {
  if (buf.length > MAX_CONNECT_REPLY_BYTES || buf.length <= CONNECT.length + 1) return null;
  const parts = Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('latin1').split(' ');
  if (parts.length < 3) return null;
  const ip = parts[1]!;
  const portText = parts[2]!;
  if (isIP(ip) === 0 || !/^[0-9]{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  return { ip, port };
}

/**
 * Compares presented tokens against the expected one in constant time: both sides are copied into
 * buffers of MAX_TOKEN_BYTES allocated once, compared with `timingSafeEqual`, and the length check
 * is folded in without an early return. Nothing is allocated per check.
 */
export class TokenChecker {
  private readonly expected = Buffer.alloc(MAX_TOKEN_BYTES);
  private readonly scratch = Buffer.alloc(MAX_TOKEN_BYTES);
  private expectedLength = 0;

  constructor(token: Buffer) {
    this.set(token);
  }

  /** Replace the expected token (already validated). */
  set(token: Buffer): void {
    this.expected.fill(0);
    token.copy(this.expected, 0);
    this.expectedLength = token.length;
  }

  /**
   * Check the token of a `HELLO` datagram: the bytes after `HELLO ` up to the next space or the end.
   * @returns true if it equals the expected token.
   */
  checkHello(buf: Uint8Array): boolean {
    const start = HELLO.length + 1;
    let end = start;
    while (end < buf.length && buf[end] !== SPACE) end++;
    const length = end - start;
    this.scratch.fill(0);
    // A token longer than MAX_TOKEN_BYTES is wrong; its first bytes are still compared so the
    // time spent does not depend on where the presented token differs.
    const n = Math.min(length, MAX_TOKEN_BYTES);
    for (let i = 0; i < n; i++) this.scratch[i] = buf[start + i]!;
    const same = timingSafeEqual(this.scratch, this.expected);
    return same && length === this.expectedLength;
  }
}
