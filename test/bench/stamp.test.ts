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

describe("stamp, verify: 'stamp' (the sampled checksum)", () => {
  /** Byte offsets of the three sampled words of a `stamp` frame: every byte whose change fails it. */
  function guarded(payload: Uint8Array): number[] {
    const reader = new StampReader('stamp');
    const out: number[] = [];
    for (let i = 0; i < payload.length; i++) {
      payload[i]! ^= 0x01;
      if (!reader.read(payload)) out.push(i);
      payload[i]! ^= 0x01;
    }
    return out;
  }

  it('reads back what was written, at every size, in a fresh or a reused buffer, at any alignment', () => {
    const reader = new StampReader('stamp');
    for (const size of [STAMP_BYTES, 27, 39, 40, 41, 64, 1000, 4099]) {
      for (const kept of [false, true]) {
        const buffer = new Uint8Array(size + 5);
        const payload = buffer.subarray(5);
        writeStamp(payload, 0xfedcba98, 123456 + size, 77.25, 'stamp', kept);
        expect(reader.read(payload), `size ${size} kept ${kept}`).toBe(true);
        expect([reader.sender, reader.sequence, reader.sentAt]).toEqual([0xfedcba98, 123456 + size, 77.25]);
      }
    }
  });

  it('a fresh buffer carries no stale bytes: the filler outside the sample is one constant byte', () => {
    const payload = Buffer.alloc(200, 0x3c);
    writeStamp(payload, 1, 2, 3, 'stamp');
    const sampled = new Set(guarded(payload).filter((i) => i >= STAMP_BYTES));
    const rest = [...payload.subarray(STAMP_BYTES)].filter((_, k) => !sampled.has(STAMP_BYTES + k));
    expect(new Set(rest).size).toBe(1);
    expect(rest[0]).not.toBe(0x3c);
  });

  it('guards the stamp, the length and three words of the filler (first, last, one that moves with the sequence)', () => {
    const size = 1000;
    const places = new Set<number>();
    for (let seq = 0; seq < 50; seq++) {
      const payload = new Uint8Array(size);
      writeStamp(payload, 9, seq, 1, 'stamp', true);
      const g = guarded(payload);
      // 0-19 and 20-23 (the checksum itself), then 3 words.
      expect(g.slice(0, STAMP_BYTES)).toEqual([...Array(STAMP_BYTES).keys()]);
      const filler = g.filter((i) => i >= STAMP_BYTES);
      expect(filler.length).toBe(12);
      expect(filler.slice(0, 4)).toEqual([24, 25, 26, 27]);
      expect(filler.slice(-4)).toEqual([size - 4, size - 3, size - 2, size - 1]);
      places.add(filler[4]!);
    }
    // The moving word is somewhere else for (nearly) every frame.
    expect(places.size).toBeGreaterThan(40);
  });

  it("checks a filler below 16 bytes whole, and detects truncation, padding and another frame's body", () => {
    const reader = new StampReader('stamp');
    const short = new Uint8Array(STAMP_BYTES + 15);
    writeStamp(short, 3, 4, 5, 'stamp');
    expect(guarded(short)).toEqual([...Array(short.length).keys()]);

    const a = new Uint8Array(64);
    const b = new Uint8Array(64);
    writeStamp(a, 1, 10, 5, 'stamp');
    writeStamp(b, 1, 11, 5, 'stamp');
    const mixed = Uint8Array.from([...a.subarray(0, STAMP_BYTES), ...b.subarray(STAMP_BYTES)]);
    expect(reader.read(mixed)).toBe(false);
    expect(reader.read(a.subarray(0, 63))).toBe(false);
    expect(reader.read(Uint8Array.from([...a, 0]))).toBe(false);
  });

  it('a frame of one mode does not verify as the other', () => {
    const full = new Uint8Array(64);
    writeStamp(full, 1, 2, 3);
    expect(new StampReader('stamp').read(full)).toBe(false);
    const sampled = new Uint8Array(64);
    writeStamp(sampled, 1, 2, 3, 'stamp');
    expect(new StampReader('full').read(sampled)).toBe(false);
  });
});

describe('StampReader.read in place', () => {
  it('reads a payload at an offset of a larger buffer without a view, and refuses a range outside it', () => {
    for (const verify of ['full', 'stamp'] as const) {
      const reader = new StampReader(verify);
      const frame = new Uint8Array(90);
      writeStamp(frame, 5, 6, 7.5, verify);
      const buffer = new Uint8Array(300);
      buffer.set(frame, 101);
      expect(reader.read(buffer, 101, 90)).toBe(true);
      expect([reader.sender, reader.sequence, reader.sentAt]).toEqual([5, 6, 7.5]);
      expect(reader.read(buffer, 101, 89)).toBe(false);
      expect(reader.read(buffer, 100, 90)).toBe(false);
      expect(reader.read(buffer, 250, 90)).toBe(false);
      expect(reader.read(buffer, -1, 90)).toBe(false);
    }
  });
});
