import { describe, expect, it } from 'vitest';
import { CloseCode, FrameType, MAX_CLOSE_REASON_BYTES, closeFrameBody, plainFrame, writeU32LE } from '../../src/wire/index.js';

/** The refusal the mm Server wrote by hand before issue 15: u32 LE length, CLOSE, code, reason. */
function handBuiltRefusal(code: number, text: string): Uint8Array {
  const reason = new TextEncoder().encode(text);
  const frame = new Uint8Array(6 + reason.length);
  new DataView(frame.buffer).setUint32(0, 2 + reason.length, true);
  frame[4] = FrameType.Close;
  frame[5] = code;
  frame.set(reason, 6);
  return frame;
}

describe('wire protocol encoders', () => {
  it.each([
    [CloseCode.ServerFull, 'server full'],
    [CloseCode.ServerClosing, 'server closing'],
  ])('a plaintext CLOSE (code %i) is the bytes the server built by hand', (code, reason) => {
    expect(Buffer.from(plainFrame(closeFrameBody(code, reason))).toString('hex')).toBe(Buffer.from(handBuiltRefusal(code, reason)).toString('hex'));
  });

  it('writes the CLOSE body as type, code, reason (docs/protocol.md §7)', () => {
    expect(Buffer.from(closeFrameBody(CloseCode.Timeout, 'ab')).toString('hex')).toBe('300661' + '62');
  });

  it('cuts the reason to MAX_CLOSE_REASON_BYTES', () => {
    expect(closeFrameBody(CloseCode.Normal, 'x'.repeat(MAX_CLOSE_REASON_BYTES + 50)).length).toBe(2 + MAX_CLOSE_REASON_BYTES);
  });

  it('prefixes a frame with its u32 little-endian length (§2)', () => {
    const buf = new Uint8Array(4);
    writeU32LE(buf, 0, 0x01020304);
    expect(Array.from(buf)).toEqual([4, 3, 2, 1]);
    expect(Array.from(plainFrame(Uint8Array.of(9, 8)))).toEqual([2, 0, 0, 0, 9, 8]);
  });
});
