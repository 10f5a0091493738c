/**
 * Format facts of gamewire's protocol (docs/protocol.md): frame types, close codes, magic, and
 * the encoders of the frames that are built whole (the length prefix, a CLOSE).
 */
import { MAX_CLOSE_REASON_BYTES } from './limits.js';

/** Frame types: the first byte of every frame body (inside the AEAD once keys are set). */
export const FrameType = {
  /** Client → server, plaintext: magic, version, flags, client random (§4.1). */
  Hello: 0x01,
  /** Server → client, plaintext: magic, version, flags, server random (§4.2). */
  Welcome: 0x02,
  /** Each direction's first sealed frame: proves both sides derived the same keys (§4.4). */
  Finished: 0x03,
  /** A piece of the chunk stream that carries messages (§5). */
  Data: 0x10,
  /** Empty; sent after an idle interval (§7). */
  Keepalive: 0x20,
  /** Close code (u8) then a UTF-8 reason (§7). */
  Close: 0x30,
} as const;

/** Codes in a CLOSE frame. */
export const CloseCode = {
  Normal: 0,
  ProtocolError: 1,
  VersionMismatch: 2,
  KeyMismatch: 3,
  MessageTooLarge: 4,
  Overflow: 5,
  Timeout: 6,
  ServerClosing: 7,
  Flood: 8,
  ServerFull: 9,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** `GWMM`, the first four bytes of HELLO and WELCOME payloads. */
export const MAGIC = Uint8Array.of(0x47, 0x57, 0x4d, 0x4d);

/** Flag bit in HELLO/WELCOME: this side has a pre-shared key and wants an encrypted session. */
export const FLAG_ENCRYPTED = 0x01;

/** FINISHED payload: the ASCII label, so the check also catches a mixed-up direction. */
export const FINISHED_CLIENT = new TextEncoder().encode('gamewire mm finished c2s');
export const FINISHED_SERVER = new TextEncoder().encode('gamewire mm finished s2c');

/** HKDF info labels, followed by the HELLO and WELCOME payloads (transcript binding, §4.3). */
export const INFO_CLIENT_TO_SERVER = new TextEncoder().encode('gamewire mm v1 c2s');
export const INFO_SERVER_TO_CLIENT = new TextEncoder().encode('gamewire mm v1 s2c');

const encoder = new TextEncoder();

/** Bytes of the length prefix of every frame: u32 little-endian body length (§2). */
export const FRAME_PREFIX_BYTES = 4;

/** Write `value` as u32 little-endian at `buf[at]` (the frame prefix, §2). */
export function writeU32LE(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value & 0xff;
  buf[at + 1] = (value >>> 8) & 0xff;
  buf[at + 2] = (value >>> 16) & 0xff;
  buf[at + 3] = (value >>> 24) & 0xff;
}

/** A whole plaintext frame: the length prefix, then `body` (§2; handshake frames, a refusal). */
export function plainFrame(body: Uint8Array): Uint8Array {
  const buf = new Uint8Array(FRAME_PREFIX_BYTES + body.length);
  writeU32LE(buf, 0, body.length);
  buf.set(body, FRAME_PREFIX_BYTES);
  return buf;
}

/** The body of a CLOSE frame (§7): the type, `code`, and `reason` in UTF-8 cut to MAX_CLOSE_REASON_BYTES. */
export function closeFrameBody(code: number, reason: string): Uint8Array {
  const text = encoder.encode(reason).subarray(0, MAX_CLOSE_REASON_BYTES);
  const body = new Uint8Array(2 + text.length);
  body[0] = FrameType.Close;
  body[1] = code;
  body.set(text, 2);
  return body;
}
