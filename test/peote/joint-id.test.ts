import { describe, expect, it } from 'vitest';
import { createErrorReason, enterErrorReason } from '../../src/joint/client-connection.js';
import { MAX_ID_BYTES } from '../../src/joint/limits.js';
import { encodeJointId } from '../../src/peote/joint-id.js';
import { Reason, reasonForCreateError, reasonForEnterError } from '../../src/peote/reason.js';
import { checkRemoteId } from '../../src/peote/remote.js';

describe('peote argument checks shared by PeoteServer and PeoteClient', () => {
  it('encodeJointId gives the UTF-8 bytes, up to MAX_ID_BYTES', () => {
    expect([...encodeJointId('hé')]).toEqual([0x68, 0xc3, 0xa9]);
    expect(encodeJointId('x'.repeat(MAX_ID_BYTES)).length).toBe(MAX_ID_BYTES);
    expect(() => encodeJointId('é'.repeat(128))).toThrow(`jointId is 256 UTF-8 bytes; the maximum is ${MAX_ID_BYTES}`);
  });

  it('checkRemoteId accepts 0..255 only', () => {
    expect(() => checkRemoteId(0)).not.toThrow();
    expect(() => checkRemoteId(255)).not.toThrow();
    expect(() => checkRemoteId(256)).toThrow('remoteId must be 0..255, got 256');
    expect(() => checkRemoteId(1.5)).toThrow(RangeError);
  });

  it('maps create/enter error replies to the same Reasons as the joint client (joint.md §3.1)', () => {
    for (let err = 0; err < 8; err++) {
      expect(reasonForCreateError(err)).toBe(createErrorReason(err));
      expect(reasonForEnterError(err)).toBe(enterErrorReason(err));
    }
    expect([1, 2, 3, 99].map(reasonForCreateError)).toEqual([Reason.MAX, Reason.ID, Reason.MALICIOUS, Reason.MALICIOUS]);
    expect([1, 2, 3, 4, 5, 0].map(reasonForEnterError)).toEqual([Reason.ID, Reason.MALICIOUS, Reason.ID, Reason.FULL, Reason.MAX, Reason.MALICIOUS]);
  });
});
