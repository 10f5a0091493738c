/**
 * Thrown by PeoteBytesInput when the bytes do not hold what the read asks for (too short, a
 * non-minimal varint). The RPC decoder catches it and reports Reason.MALICIOUS instead.
 */
export class PeoteBytesError extends Error {
  readonly code: 'GW_ERR_BYTES_UNDERFLOW' | 'GW_ERR_VARINT_NON_MINIMAL' | 'GW_ERR_BYTES_RANGE';

  constructor(code: PeoteBytesError['code'], message: string) {
    super(message);
    this.name = 'PeoteBytesError';
    this.code = code;
  }
}
