/**
 * A cluster node in its own process, for the kill -9 tests: joins with the given url, node id
 * and cluster name, claims the ids given, prints `ready <epoch>` and waits to be killed.
 * Usage: node --import tsx test/cluster/node-process.ts <url> <nodeId> <name> [id...]
 */
import { Cluster } from '../../src/cluster/index.js';
import { FAST, RecordingHandler } from './harness.js';

const [url, nodeId, name, ...ids] = process.argv.slice(2);
const cluster = await Cluster.join({ servers: url!, nodeId: nodeId!, name: name!, ...FAST }, new RecordingHandler());
for (const id of ids) {
  const result = await cluster.directory.claim(Buffer.from(id));
  if (result !== 'claimed') throw new Error(`claim ${id}: ${result}`);
}
process.stdout.write(`ready ${cluster.self.epoch}\n`);
// Stays up on the cluster's NATS connection until killed; a bound in case the test forgets it.
setTimeout(() => process.exit(3), 60_000);
