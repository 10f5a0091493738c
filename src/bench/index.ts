/**
 * gamewire/bench: load any game server and measure its throughput and latency (docs/bench.md).
 */
export type * from './types.js';
