/**
 * The stamp (src/bench/stamp.ts): what is written reads back, at any alignment, and any change to
 * the bytes (a flipped bit anywhere, truncation, padding, another frame's body) fails to verify.
 */
import { describe, expect, it } from 'vitest';
import { STAMP_BYTES, StampReader, benchClock, writeStamp } from '../../src/bench/stamp.js';

describe('stamp', () => {
  it('reads back sender, sequence and intended time at every size from STAMP_BYTES', () => {
    const reader = new StampReader();
    for (const size of [STAMP_BYTES, STAMP_BYTES + 1, 27, 64, 65, 1000, 4099]) {
      const payload = new Uint8Array(size);
      const at = benchClock();
      writeStamp(payload, 0xfedcba98, 123456, at);
      expect(reader.read(payload)).toBe(true);
      expect(reader.sender).toBe(0xfedcba98);
      expect(reader.sequence).toBe(123456);
      expect(reader.sentAt).toBe(at);
    }
  });

  it('reads a stamp from an unaligned view inside a larger receive buffer', () => {
    const frame = new Uint8Array(77);
    writeStamp(frame, 7, 9, 1234.5);
    const buffer = new Uint8Array(200);
    buffer.set(frame, 33);
    const reader = new StampReader();
    expect(reader.read(buffer.subarray(33, 33 + 77))).toBe(true);
    expect([reader.sender, reader.sequence, reader.sentAt]).toEqual([7, 9, 1234.5]);
  });

  it('detects a flipped bit in any byte', () => {
    const reader = new StampReader();
    const payload = new Uint8Array(67);
    writeStamp(payload, 3, 4, benchClock());
    for (let i = 0; i < payload.length; i++) {
      for (const bit of [0x01, 0x80]) {
        payload[i]! ^= bit;
        expect(reader.read(payload), `byte ${i} bit ${bit}`).toBe(false);
        payload[i]! ^= bit;
      }
    }
    expect(reader.read(payload)).toBe(true);
  });

  it('detects truncation, padding and a payload shorter than the stamp', () => {
    const reader = new StampReader();
    const payload = new Uint8Array(64);
    writeStamp(payload, 1, 2, 3);
    expect(reader.read(payload.subarray(0, 63))).toBe(false);
    const padded = new Uint8Array(65);
    padded.set(payload);
    expect(reader.read(padded)).toBe(false);
    expect(reader.read(payload.subarray(0, STAMP_BYTES - 1))).toBe(false);
    expect(reader.read(new Uint8Array(0))).toBe(false);
  });

  it("detects another frame's body under this header", () => {
    const reader = new StampReader();
    const a = new Uint8Array(64);
    const b = new Uint8Array(64);
    writeStamp(a, 1, 10, 5);
    writeStamp(b, 1, 11, 5);
    expect(Buffer.from(a.subarray(STAMP_BYTES)).equals(Buffer.from(b.subarray(STAMP_BYTES)))).toBe(false);
    const mixed = new Uint8Array(64);
    mixed.set(a.subarray(0, STAMP_BYTES));
    mixed.set(b.subarray(STAMP_BYTES), STAMP_BYTES);
    expect(reader.read(mixed)).toBe(false);
  });
});
