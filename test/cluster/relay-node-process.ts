/**
 * A clustered relay in its own process, for the kill -9 tests of the relay cluster: listens on a
 * free loopback port, joins the cluster with the test timings, prints `ready <port>` and waits to
 * be killed. Usage: node --import tsx test/cluster/relay-node-process.ts <url> <nodeId> <name>
 */
import { Relay } from '../../src/relay/index.js';
import { FAST } from './harness.js';

const [url, nodeId, name] = process.argv.slice(2);
const relay = await Relay.listen({ logLevel: process.env.GAMEWIRE_TEST_CHILD_LOG === '1' ? 'debug' : 'silent', maxConnectionsPerIp: 0, cluster: { servers: url!, nodeId: nodeId!, name: name!, ...FAST } });
process.stdout.write(`ready ${relay.port}\n`);
// Stays up until killed; a bound in case the test forgets it.
setTimeout(() => process.exit(3), 60_000);
