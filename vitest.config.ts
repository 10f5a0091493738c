import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The relay suites that run a second time on the Node engine (issue 19: both engines pass the
 * same tests), in the relay-node project below, with PeoteServer/PeoteClient through it. The
 * main project runs them on the default engine: the native one wherever it can run, else node
 * (and relay-node then skips them, saying why). The other files of test/relay name their engine
 * where it matters: forwarding.test.ts (drives the Node read loop with fake streams),
 * idle-memory.test.ts (its parser pool and slabs), outbox/token-bucket/logger.test.ts (units of
 * the Node engine and the logger), cli.test.ts (the command line), and the engine-* tests of the
 * control plane.
 */
const RELAY_ENGINE_SUITES = [
  'test/relay/relay.test.ts',
  'test/relay/relay-vectors.test.ts',
  'test/relay/backpressure.test.ts',
  'test/relay/budgets.test.ts',
  'test/relay/fuzz.test.ts',
  'test/relay/drop-close.test.ts',
  'test/peote/relay.test.ts',
  // The cluster's relay suites (remote routes on the native engine, the Node engine's forwarder).
  'test/cluster/relay-cluster.test.ts',
  'test/cluster/relay-vectors.test.ts',
  'test/cluster/relay-late-entry.test.ts',
  'test/cluster/relay-outage.test.ts',
  // Says in the summary whether the suites above ran on the Node engine or why they were skipped.
  'test/relay/engine-project.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Network suites bind loopback ports; forks keep each file's sockets in its own process.
    pool: 'forks',
    // The second reporter repeats why a suite was skipped (Chromium missing...) after the summary.
    reporters: ['default', './test/helpers/skip-reasons-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/relay/engine-project.test.ts'] },
      },
      {
        extends: true,
        // test/relay/engine-setup.ts starts every relay of these files on the Node engine, or skips
        // them all, loudly, where the default is node already (GAMEWIRE_NATIVE=0, no addon, not Linux).
        test: { name: 'relay-node', include: RELAY_ENGINE_SUITES, setupFiles: ['test/relay/engine-setup.ts'] },
      },
    ],
  },
});
