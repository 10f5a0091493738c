import { describe, expect, it } from 'vitest';
import {
  KEEPALIVE,
  encodeBroadcast,
  encodeCreate,
  encodeDataFrame,
  encodeDelete,
  encodeEnter,
  encodeInDisconnect,
  encodeKick,
  encodeLeave,
  encodeReply,
  encodeUserConnect,
  encodeUserDisconnect,
  frameHeaderBytes,
} from '../../src/joint/protocol.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');

describe('joint protocol encoders (joint.md §2-5, §15.1)', () => {
  it('encodes commands', () => {
    expect(hex(encodeCreate(1, Buffer.from('j')))).toBe('00 00 01 01 6a');
    expect(hex(encodeEnter(2, new Uint8Array(0)))).toBe('00 01 02 00');
    expect(hex(encodeLeave(0))).toBe('00 02 00 01 00');
    expect(hex(encodeDelete(3))).toBe('00 03 00 01 03');
    expect(hex(encodeKick(4, 1, 9))).toBe('00 04 04 02 01 09');
    expect(() => encodeCreate(1, new Uint8Array(256))).toThrow(RangeError);
    expect(() => encodeCreate(256, new Uint8Array(1))).toThrow(RangeError);
  });

  it('encodes replies and events as §15.1 J7-J14 show them', () => {
    expect(hex(encodeReply(1, 0, 0))).toBe('00 03 01 00 00');
    expect(hex(encodeReply(1, 1, 4))).toBe('00 03 01 01 04');
    expect(hex(encodeUserConnect(0, 0))).toBe('00 04 00 00 00 00');
    expect(hex(encodeUserDisconnect(0, 0, 0))).toBe('00 05 00 01 00 00 00');
    expect(hex(encodeUserDisconnect(0, 0, 1))).toBe('00 05 00 01 00 00 01');
    expect(hex(encodeInDisconnect(2, 1))).toBe('00 04 00 02 02 01');
    expect(hex(KEEPALIVE)).toBe('00 04 00 ff 00 00');
  });

  it('encodes data frames with the 1- and 2-byte size forms', () => {
    expect(hex(encodeDataFrame([0], Buffer.from('ABC')))).toBe('04 00 41 42 43');
    expect(hex(encodeDataFrame([0x80, 0], Uint8Array.of(1, 2, 3, 4)))).toBe('06 80 00 01 02 03 04');
    const j3 = encodeDataFrame([0], new Uint8Array(1000));
    expect(hex(j3.subarray(0, 3))).toBe('83 e9 00');
    expect(frameHeaderBytes(127)).toBe(1);
    expect(frameHeaderBytes(128)).toBe(2);
    expect(hex(encodeDataFrame([0x80, 0], new Uint8Array(32765)).subarray(0, 2))).toBe('ff ff');
    expect(() => encodeDataFrame([0x80, 0], new Uint8Array(32766))).toThrow(RangeError);
    expect(() => encodeDataFrame([0], new Uint8Array(0))).toThrow(RangeError);
  });

  it('encodes broadcasts (J15, J16)', () => {
    expect(hex(encodeBroadcast(0, Buffer.from('ABC')))).toBe('01 01 04 80 41 42 43');
    expect(hex(encodeBroadcast(0, Buffer.from('ABC'), 2))).toBe('01 00 05 80 02 41 42 43');
  });
});
