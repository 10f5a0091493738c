/**
 * Misuse of the mm API: a bad port, key or timeout. Thrown at the call (STYLE.md §4); the compat
 * `network` functions return its message as their result string instead.
 */
export class MmArgumentError extends RangeError {
  /** Stable code: `GW_ERR_BAD_ADDRESS`, `GW_ERR_BAD_PORT`, `GW_ERR_BAD_KEY`, `GW_ERR_BAD_OPTION`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'MmArgumentError';
    this.code = code;
  }
}
