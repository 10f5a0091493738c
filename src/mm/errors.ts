import { GamewireRangeError, type GamewireErrorCode } from '../core/errors.js';

/**
 * Misuse of the mm API: a bad port, key or timeout. Thrown at the call (STYLE.md §4); the compat
 * `network` functions return its message as their result string instead. A GamewireRangeError, so
 * `instanceof RangeError` and `instanceof GamewireError` both hold.
 */
export class MmArgumentError extends GamewireRangeError {
  /** Stable code: `GW_ERR_BAD_ADDRESS`, `GW_ERR_BAD_PORT`, `GW_ERR_BAD_KEY`, `GW_ERR_BAD_OPTION`. */
  declare readonly code: string;

  constructor(code: string, message: string) {
    // Callers pass GamewireErrorCode values; the parameter stays `string` as it was public so.
    super(code as GamewireErrorCode, message);
    this.name = 'MmArgumentError';
  }
}
