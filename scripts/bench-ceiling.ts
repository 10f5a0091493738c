/**
 * The generator's own ceiling (docs/bench.md): `gamewire bench`'s engine against the null driver
 * (src/bench/null-driver.ts), where the target costs nothing, so frames/s and CPU per frame are
 * the most the generator can do on this machine. Past these figures a result measures the
 * generator, not the server.
 *
 *   node --import tsx scripts/bench-ceiling.ts [durationSec=10] [workers=0,2] [verify=full,stamp] [size=64]
 *
 * Load: 10 senders, `size` bytes, closed loop with 64 frames in flight per sender, 2 s warm-up;
 * one run per (workers, verify), in that order.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { benchWith, NULL_DRIVER_URL, type StampVerify } from '../src/bench/index.js';

const durationSec = Number(process.argv[2] ?? 10);
const workerCounts = (process.argv[3] ?? '0,2').split(',').map(Number);
const verifyModes = (process.argv[4] ?? 'full,stamp').split(',') as StampVerify[];
const size = Number(process.argv[5] ?? 64);

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x ${availableParallelism()}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}, ${size} B`);
console.log('workers  verify   frames/s   cpu %   cpu µs/frame   p50 ms   p99 ms   lost');
for (const workers of workerCounts) {
  for (const verify of verifyModes) {
    const r = await benchWith(
      { url: NULL_DRIVER_URL, name: 'nullDriver', args: [{}] },
      { kind: 'relay', host: '127.0.0.1', port: 1, users: 10, size, window: 64, durationSec, warmupSec: 2, workers, verify },
    );
    console.log(
      [
        String(workers).padStart(7),
        verify.padStart(7),
        Math.round(r.framesPerSec.mean).toString().padStart(10),
        r.generator.cpuPercent.toFixed(0).padStart(7),
        r.generator.cpuUsPerFrame.toFixed(2).padStart(14),
        r.latency.p50.toFixed(2).padStart(8),
        r.latency.p99.toFixed(2).padStart(8),
        String(r.counts.lost).padStart(6),
      ].join(' '),
    );
  }
}
