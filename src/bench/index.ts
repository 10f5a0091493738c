/**
 * gamewire/bench: load any game server and measure its throughput and latency (docs/bench.md).
 */
export type * from './types.js';

import { GamewireErrorCode } from '../core/error-codes.js';
import { GamewireRangeError } from '../core/errors.js';
import { driverModule, type DriverModule } from './registry.js';
import { resolveOptions } from './resolve.js';
import { runBench } from './run.js';
import type { BenchOptions, BenchResult, DriverFactory } from './types.js';

export { resolveOptions, MODES_BY_KIND } from './resolve.js';
export { STAMP_BYTES, benchClock, writeStamp, StampReader } from './stamp.js';
export { nullDriver, NULL_DRIVER_URL, type NullDriverOptions } from './null-driver.js';
export { share, SENDER_ID_STRIDE } from './workers.js';
export { driverModule, loadFactory, type DriverModule } from './registry.js';
export * from './limits.js';
export { compare, type RunBench, type CompareHooks, DEFAULT_COMPARE_ROUNDS_COUNT, MAX_COMPARE_ROUNDS_COUNT } from './compare.js';
export { mmBenchResponder, serveMmBench, type MmBenchResponder, type MmBenchServer, type MmBenchServerOptions } from './responders/mm.js';
export { udpBenchResponder, serveUdpBench, type UdpBenchResponder, type UdpBenchServer, type UdpBenchServerOptions } from './responders/udp.js';
export { eventsBenchMiddleware, serveEventsBench, type EventsBenchServer, type EventsBenchServerOptions } from './responders/events.js';
export * from './drivers/style-limits.js';
export * from './drivers/relay-limits.js';

/**
 * Runs one bench against `options.host:port` with the driver of `options.kind`
 * (`./drivers/<kind>.js`), spread over `options.workers` threads.
 * @param options the run (BenchOptions; defaults in limits.ts)
 * @returns everything measured; an abort through `options.signal` during the load ends the
 *   measured period early and still resolves (durationSec says how long it ran)
 * @throws GamewireTypeError / GamewireRangeError at once for bad options, naming the option;
 *   rejects when the target cannot be reached (a driver's open fails or exceeds connectTimeoutMs),
 *   or with the signal's reason when aborted before the load began
 */
export function bench(options: BenchOptions): Promise<BenchResult> {
  return runBench(driverModule(resolveOptions(options).kind), options);
}

/**
 * Runs one bench with a driver of your own (e.g. `nullDriver()` for the generator's ceiling).
 * @param driver a factory (runs on this thread only) or a DriverModule (required with workers > 0)
 * @param options as for bench(); `kind` only selects the mode set and defaults
 * @throws as bench(), and a GamewireRangeError naming workers for a factory with workers > 0
 */
export function benchWith(driver: DriverFactory | DriverModule, options: BenchOptions): Promise<BenchResult> {
  const resolved = resolveOptions(options);
  if (typeof driver === 'function' && resolved.workers > 0) {
    throw new GamewireRangeError(
      GamewireErrorCode.BadOption,
      'bench: workers > 0 needs the driver as a DriverModule ({ url, name, args }), not a factory function',
    );
  }
  return runBench(driver, options);
}
