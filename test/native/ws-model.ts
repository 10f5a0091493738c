/**
 * The WebSocket codec's test side: a typed face of the addon's test-only binding
 * (`addon.wsCodecTest`, native/addon-ws-test.cc), a builder of client frames with every field
 * under control (including the invalid ones), and a reference model of the frame decoder written
 * straight from RFC 6455 §5 as a whole-buffer parser. Shared by test/native/ws-codec.test.ts and
 * the ws-handshake / ws-frame fuzz targets (test/fuzz/ws-targets.ts).
 */
import { addon } from '../../src/core/load.js';

export const enum WsKind {
  Data = 1,
  Ping = 2,
  Pong = 3,
  Close = 4,
}

/** WsEvent flags (native/ws-frame.h). */
export const WS_FLAG_TEXT = 1;
export const WS_FLAG_IN_CARRY = 2;

export interface WsEventJs {
  kind: WsKind;
  flags: number;
  closeCode: number;
  offset: number;
  data: Buffer;
}

export interface WsFeedResult {
  events: WsEventJs[];
  consumed: number;
  error: number;
  errorText: string;
  closeCode: number;
  closed: boolean;
  carryCapacity: number;
}

export interface WsDecoderOptionsJs {
  message?: boolean;
  maxMessageBytes?: number;
  maxFragments?: number;
  validateUtf8?: boolean;
}

export interface WsHandshakeFeed {
  /** 0 need more, 1 accepted, 2 rejected. */
  result: number;
  consumed: number;
  status: number;
  reason: string;
  response: Buffer;
  bufferCapacity: number;
}

export interface WsCodecTest {
  WsHandshake: new () => { feed(input: Uint8Array): WsHandshakeFeed };
  WsDecoder: new (options?: WsDecoderOptionsJs) => { feed(input: Uint8Array, maxEvents?: number): WsFeedResult };
  acceptKey(key: string): string;
  encodeHeader(opcode: number, payloadLength: number): Buffer;
  encodePong(payload: Uint8Array): Buffer;
  encodeClose(code: number, reason?: Uint8Array): Buffer;
  constants: { MAX_HANDSHAKE_BYTES: number; DEFAULT_MAX_MESSAGE_BYTES: number; MAX_CONTROL_PAYLOAD_BYTES: number; MAX_EVENTS_PER_FEED: number };
}

/** The codec's test binding, or null on the fallback (GAMEWIRE_NATIVE=0, no addon): no engine there. */
export const wsCodec: WsCodecTest | null = ((addon as unknown as { wsCodecTest?: WsCodecTest } | null)?.wsCodecTest ?? null);

export const HANDSHAKE_NEED_MORE = 0;
export const HANDSHAKE_ACCEPTED = 1;
export const HANDSHAKE_REJECTED = 2;

// ---------------------------------------------------------------------------------------------
// Client frames

export interface ClientFrame {
  opcode: number;
  payload: Uint8Array;
  /** Default true. */
  fin?: boolean;
  /** RSV1-3 as bits 0x40/0x20/0x10 of byte 0 (default 0). */
  rsv?: number;
  /** Default true (clients must mask). */
  masked?: boolean;
  /** Default [1, 2, 3, 4]. */
  mask?: [number, number, number, number];
  /** Length encoding: 7, 16 or 64 bits (default: the shortest). */
  lengthBits?: 7 | 16 | 64;
  /** Announced length instead of the payload's (64-bit encoding only when set over 2^32). */
  announcedLength?: bigint;
}

/** The bytes of one client frame. */
export function clientFrame(f: ClientFrame): Buffer {
  const n = f.payload.length;
  const announced = f.announcedLength ?? BigInt(n);
  const bits = f.lengthBits ?? (announced <= 125n ? 7 : announced <= 0xffffn ? 16 : 64);
  const masked = f.masked ?? true;
  const mask = f.mask ?? [1, 2, 3, 4];
  const head: number[] = [((f.fin ?? true) ? 0x80 : 0) | (f.rsv ?? 0) | (f.opcode & 0x0f)];
  const maskBit = masked ? 0x80 : 0;
  if (bits === 7) head.push(maskBit | Number(announced));
  else if (bits === 16) head.push(maskBit | 126, Number(announced >> 8n) & 0xff, Number(announced) & 0xff);
  else {
    head.push(maskBit | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((announced >> BigInt(8 * i)) & 0xffn));
  }
  const body = Buffer.from(f.payload);
  if (masked) {
    head.push(...mask);
    for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ mask[i % 4]!;
  }
  return Buffer.concat([Buffer.from(head), body]);
}

export function closePayload(code: number, reason = ''): Buffer {
  const r = Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Reference model: the whole input at once, the checks in the order of native/ws-frame.cc.

/** Close codes of the decoder's errors. */
export const CLOSE_PROTOCOL = 1002;
export const CLOSE_INVALID_PAYLOAD = 1007;
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_NO_STATUS = 1005;

export interface ModelItem {
  kind: WsKind;
  text: boolean;
  closeCode: number;
  data: Uint8Array;
}

export interface ModelResult {
  items: ModelItem[];
  /** Close code of the error, 0 for none. */
  errorClose: number;
  closed: boolean;
}

/** UTF-8 per Unicode Table 3-7, incremental: returns the new state, or -1 on an invalid byte. */
function utf8Step(state: { need: number; lo: number; hi: number }, c: number): boolean {
  if (state.need === 0) {
    if (c < 0x80) return true;
    state.lo = 0x80;
    state.hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) state.need = 1;
    else if (c === 0xe0) (state.need = 2), (state.lo = 0xa0);
    else if (c === 0xed) (state.need = 2), (state.hi = 0x9f);
    else if (c >= 0xe1 && c <= 0xef) state.need = 2;
    else if (c === 0xf0) (state.need = 3), (state.lo = 0x90);
    else if (c >= 0xf1 && c <= 0xf3) state.need = 3;
    else if (c === 0xf4) (state.need = 3), (state.hi = 0x8f);
    else return false;
    return true;
  }
  if (c < state.lo || c > state.hi) return false;
  state.need--;
  state.lo = 0x80;
  state.hi = 0xbf;
  return true;
}

function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/**
 * What the native decoder reports for `input` fed whole, in stream delivery (data items are
 * the available part of each frame, adjacent ones not merged) or message delivery.
 */
export function modelDecode(input: Uint8Array, o: Required<WsDecoderOptionsJs>): ModelResult {
  const items: ModelItem[] = [];
  let pos = 0;
  let msgOpcode = 0;
  let msgBytes = 0;
  let msgFrames = 0;
  let msgParts: Uint8Array[] = [];
  let utf8 = { need: 0, lo: 0x80, hi: 0xbf };
  const fail = (close: number): ModelResult => ({ items, errorClose: close, closed: false });
  for (;;) {
    // Each field is checked as soon as its bytes are in, as the decoder does.
    if (input.length - pos < 1) return { items, errorClose: 0, closed: false };
    const b0 = input[pos]!;
    if (b0 & 0x70) return fail(CLOSE_PROTOCOL);
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const control = opcode >= 8;
    if (opcode === 0) {
      if (msgOpcode === 0) return fail(CLOSE_PROTOCOL);
    } else if (opcode === 1 || opcode === 2) {
      if (msgOpcode !== 0) return fail(CLOSE_PROTOCOL);
    } else if (opcode === 8 || opcode === 9 || opcode === 10) {
      if (!fin) return fail(CLOSE_PROTOCOL);
    } else return fail(CLOSE_PROTOCOL);
    if (input.length - pos < 2) return { items, errorClose: 0, closed: false };
    const b1 = input[pos + 1]!;
    const len7 = b1 & 0x7f;
    if (control && (len7 > 125 || (opcode === 8 && len7 === 1))) return fail(CLOSE_PROTOCOL);
    if ((b1 & 0x80) === 0) return fail(CLOSE_PROTOCOL);
    const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const headerBytes = 2 + ext + 4;
    if (input.length - pos < headerBytes) return { items, errorClose: 0, closed: false };
    let length = BigInt(len7);
    if (ext === 2) length = BigInt((input[pos + 2]! << 8) | input[pos + 3]!);
    else if (ext === 8) {
      length = 0n;
      for (let i = 0; i < 8; i++) length = (length << 8n) | BigInt(input[pos + 2 + i]!);
      if (length >> 63n) return fail(CLOSE_PROTOCOL);
    }
    const mask = input.subarray(pos + 2 + ext, pos + headerBytes);
    pos += headerBytes;
    if (!control) {
      if (opcode !== 0) {
        msgOpcode = opcode;
        msgBytes = 0;
        msgFrames = 0;
        msgParts = [];
        utf8 = { need: 0, lo: 0x80, hi: 0xbf };
      }
      if (length > BigInt(o.maxMessageBytes - msgBytes)) return fail(CLOSE_TOO_BIG);
      msgBytes += Number(length);
      if (o.maxFragments !== 0 && ++msgFrames > o.maxFragments) return fail(CLOSE_POLICY);
    }
    const n = Number(length);
    const avail = Math.min(n, input.length - pos);
    const payload = Uint8Array.from(input.subarray(pos, pos + avail), (b, i) => b ^ mask[i % 4]!);
    const complete = avail === n;
    if (control) {
      if (!complete) return { items, errorClose: 0, closed: false };
      pos += n;
      if (opcode === 9 || opcode === 10) {
        items.push({ kind: opcode === 9 ? WsKind.Ping : WsKind.Pong, text: false, closeCode: 0, data: payload });
        continue;
      }
      if (n === 0) {
        items.push({ kind: WsKind.Close, text: false, closeCode: CLOSE_NO_STATUS, data: payload });
        return { items, errorClose: 0, closed: true };
      }
      const code = (payload[0]! << 8) | payload[1]!;
      if (!validCloseCode(code)) return fail(CLOSE_PROTOCOL);
      const reason = payload.subarray(2);
      if (o.validateUtf8) {
        const s = { need: 0, lo: 0x80, hi: 0xbf };
        if (!reason.every((c) => utf8Step(s, c)) || s.need !== 0) return fail(CLOSE_INVALID_PAYLOAD);
      }
      items.push({ kind: WsKind.Close, text: false, closeCode: code, data: reason });
      return { items, errorClose: 0, closed: true };
    }
    const text = msgOpcode === 1;
    if (text && o.validateUtf8) {
      if (!payload.every((c) => utf8Step(utf8, c))) return fail(CLOSE_INVALID_PAYLOAD);
      if (complete && fin && utf8.need !== 0) return fail(CLOSE_INVALID_PAYLOAD);
    }
    pos += avail;
    if (!o.message) {
      if (avail > 0) items.push({ kind: WsKind.Data, text, closeCode: 0, data: payload });
    } else msgParts.push(payload);
    if (!complete) return { items, errorClose: 0, closed: false };
    if (fin) {
      if (o.message) items.push({ kind: WsKind.Data, text, closeCode: 0, data: Buffer.concat(msgParts) });
      msgOpcode = 0;
    }
  }
}
