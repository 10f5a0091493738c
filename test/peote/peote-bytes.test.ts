import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PeoteBytesInput } from '../../src/peote/peote-bytes-input.js';
import { PeoteBytesOutput } from '../../src/peote/peote-bytes-output.js';
import { PeoteBytesError } from '../../src/peote/bytes-error.js';
import { hex, toHex } from '../helpers/vectors.js';

describe('PeoteBytesOutput / PeoteBytesInput (joint.md §11)', () => {
  for (const bigEndian of [false, true]) {
    it(`round-trips every method (${bigEndian ? 'big' : 'little'}-endian)`, () => {
      const out = new PeoteBytesOutput({ bigEndian, initialBytes: 1 });
      out.writeByte(255);
      out.writeBool(true);
      out.writeBool(false);
      out.writeInt8(-128);
      out.writeInt16(-32768);
      out.writeUInt16(65535);
      out.writeInt24(-8388608);
      out.writeUInt24(16777215);
      out.writeInt32(-2147483648);
      out.writeFloat(1.5);
      out.writeDouble(-1e300);
      out.writeString('héllo');
      out.writeBytes(Uint8Array.of(9, 8, 7));
      out.writeChunkSize(32768);
      const input = new PeoteBytesInput(out.getBytes(), { bigEndian });
      expect(input.readByte()).toBe(255);
      expect(input.readBool()).toBe(true);
      expect(input.readBool()).toBe(false);
      expect(input.readInt8()).toBe(-128);
      expect(input.readInt16()).toBe(-32768);
      expect(input.readUInt16()).toBe(65535);
      expect(input.readInt24()).toBe(-8388608);
      expect(input.readUInt24()).toBe(16777215);
      expect(input.readInt32()).toBe(-2147483648);
      expect(input.readFloat()).toBe(1.5);
      expect(input.readDouble()).toBe(-1e300);
      expect(input.readString()).toBe('héllo');
      expect([...input.readBytes()]).toEqual([9, 8, 7]);
      expect(input.readChunkSize()).toBe(32768);
      expect(input.bytesLeft).toBe(0);
    });
  }

  it('is little-endian by default and big-endian on request', () => {
    const le = new PeoteBytesOutput();
    le.writeUInt16(0x0102);
    le.writeUInt24(0x010203);
    expect(toHex(le.getBytes())).toBe('02 01 03 02 01');
    const be = new PeoteBytesOutput({ bigEndian: true });
    be.writeUInt16(0x0102);
    be.writeUInt24(0x010203);
    expect(toHex(be.getBytes())).toBe('01 02 01 02 03');
  });

  it('writes lengths as N = 4 varints (vector C6)', () => {
    const out = new PeoteBytesOutput();
    for (const n of [0, 127, 128, 300, 16384, 2097152, 2 ** 29 - 1]) out.writeChunkSize(n);
    expect(toHex(out.getBytes())).toBe('00 7f 80 01 ac 02 80 80 01 80 80 80 01 ff ff ff ff');
  });

  it('reads any non-zero byte as true', () => {
    expect(new PeoteBytesInput(Uint8Array.of(7)).readBool()).toBe(true);
  });

  it('rejects out-of-range values instead of wrapping them', () => {
    const out = new PeoteBytesOutput();
    expect(() => out.writeByte(256)).toThrow(RangeError);
    expect(() => out.writeInt8(128)).toThrow(RangeError);
    expect(() => out.writeUInt16(-1)).toThrow(RangeError);
    expect(() => out.writeInt32(2 ** 31)).toThrow(RangeError);
    expect(() => out.writeChunkSize(-1)).toThrow(RangeError);
    expect(() => out.writeChunkSize(2 ** 29)).toThrow(RangeError);
    expect(() => out.writeByte(1.5)).toThrow(RangeError);
  });

  it('throws PeoteBytesError on reads past the end and on non-minimal varints', () => {
    expect(() => new PeoteBytesInput(hex('01')).readInt16()).toThrow(PeoteBytesError);
    expect(() => new PeoteBytesInput(hex('05 41')).readString()).toThrow(PeoteBytesError);
    expect(() => new PeoteBytesInput(hex('80')).readChunkSize()).toThrow(PeoteBytesError);
    expect(() => new PeoteBytesInput(hex('80 00')).readChunkSize()).toThrow(/non-minimal/);
  });

  it('never throws anything but PeoteBytesError on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 20 }), (bytes, ops) => {
        const input = new PeoteBytesInput(bytes);
        const readers = ['readByte', 'readBool', 'readInt8', 'readInt16', 'readUInt16', 'readInt24', 'readUInt24', 'readInt32', 'readFloat', 'readDouble', 'readString', 'readBytes', 'readChunkSize'] as const;
        try {
          for (const op of ops) (input[readers[op]!] as () => unknown)();
        } catch (err) {
          expect(err).toBeInstanceOf(PeoteBytesError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
