/**
 * The joint id of `PeoteServer.create` and `PeoteClient.enter`, as it goes on the wire.
 */
import { describeType } from '../core/validate.js';
import { MAX_ID_BYTES } from '../joint/limits.js';

const utf8 = new TextEncoder();

/**
 * `jointId` as UTF-8 bytes (joint.md §3).
 * @throws TypeError when it is not a string; RangeError when it is over MAX_ID_BYTES (255) bytes
 */
export function encodeJointId(jointId: string): Uint8Array {
  if (typeof jointId !== 'string') throw new TypeError(`jointId must be a string, got ${describeType(jointId)}`);
  const id = utf8.encode(jointId);
  if (id.length > MAX_ID_BYTES) throw new RangeError(`jointId is ${id.length} UTF-8 bytes; the maximum is ${MAX_ID_BYTES}`);
  return id;
}
