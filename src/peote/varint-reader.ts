import { decodeVarint, VARINT_NEED_MORE, type VarintValue } from '../codec/varint.js';
import { PeoteBytesError } from './bytes-error.js';
import { BYTES_VARINT_WIDTH } from './limits.js';

const scratch: VarintValue = { value: 0 };

/**
 * Read one N = 4 varint from `bytes[offset, end)` for PeoteBytesInput.
 * @returns `[value, bytesUsed]`
 * @throws PeoteBytesError when the varint is truncated or not minimal (joint.md §11)
 */
export function readVarintStrict(bytes: Uint8Array, offset: number, end: number): [number, number] {
  const used = decodeVarint(bytes, offset, end, BYTES_VARINT_WIDTH, scratch);
  if (used === VARINT_NEED_MORE) {
    throw new PeoteBytesError('GW_ERR_BYTES_UNDERFLOW', `varint at offset ${offset} runs past the end (${end})`);
  }
  if (used < 0) throw new PeoteBytesError('GW_ERR_VARINT_NON_MINIMAL', `non-minimal varint at offset ${offset}`);
  return [scratch.value, used];
}
