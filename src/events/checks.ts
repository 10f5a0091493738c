/**
 * Option checks at the API edge: misuse throws RangeError naming the option and the bound.
 */

/** An integer port in 0..65535. */
export function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`${name} must be an integer in 0..65535, got ${port}`);
}

/** A finite number above 0. */
export function checkPositive(name: string, value: number): void {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a positive number, got ${value}`);
}

/** An integer of at least `min`. */
export function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
}
