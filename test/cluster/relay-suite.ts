/**
 * The lifecycle the relay-over-NATS suites share: one nats-server per describe block, every relay
 * a test started closed after it (with its raw clients), and NATS started again if the test
 * killed it. Call `relaySuite()` inside a `describe`.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { ClusterOptions } from '../../src/cluster/index.js';
import { Relay, silentLogger } from '../../src/relay/index.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { closeAll } from '../relay/raw-client.js';
import { waitFor } from './harness.js';

export interface RelaySuite {
  /** This block's nats-server (set once its beforeAll ran). */
  readonly nats: NatsServer;
  /** Relays closed after the current test: push the ones a test starts itself. */
  readonly relays: Relay[];
  /** A cluster name of its own for each call (tests of one server must not meet). */
  name(): string;
  /** Relays `a` and `b` in a new cluster `name()` with `cluster` options, once they see each other. */
  pair(cluster: Partial<ClusterOptions>): Promise<{ a: Relay; b: Relay; name: string }>;
}

export function relaySuite(prefix: string): RelaySuite {
  let nats: NatsServer | undefined;
  let n = 0;
  const relays: Relay[] = [];
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(async () => {
    closeAll();
    await Promise.all(relays.splice(0).map((r) => r.close()));
    if (nats !== undefined && !nats.running) await nats.start();
  });
  afterAll(() => nats?.dispose());
  const suite: RelaySuite = {
    get nats(): NatsServer {
      if (nats === undefined) throw new Error('relaySuite: nats-server not started yet (use it inside a test)');
      return nats;
    },
    relays,
    name: () => `${prefix}${process.pid}x${n++}`,
    async pair(cluster) {
      const name = suite.name();
      const start = (nodeId: string) => Relay.listen({ logger: silentLogger, maxConnectionsPerIp: 0, cluster: { servers: suite.nats.url, nodeId, name, ...cluster } });
      const [a, b] = await Promise.all([start('a'), start('b')]);
      relays.push(a, b);
      await waitFor(() => a.stats().cluster!.peers === 1 && b.stats().cluster!.peers === 1, 3000, 'a and b to see each other');
      return { a, b, name };
    },
  };
  return suite;
}
