import { GamewireError, type GamewireErrorCode } from '../core/errors.js';

/**
 * Thrown by PeoteBytesInput when the bytes do not hold what the read asks for (too short, a
 * non-minimal varint). The RPC decoder catches it and reports Reason.MALICIOUS instead.
 */
export class PeoteBytesError extends GamewireError {
  declare readonly code: (typeof GamewireErrorCode)['BytesUnderflow' | 'VarintNonMinimal' | 'BytesRange'];

  constructor(code: PeoteBytesError['code'], message: string) {
    super(code, message);
    this.name = 'PeoteBytesError';
  }
}
