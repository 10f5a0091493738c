import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The relay suites that run a second time on the native relay engine (issue 19: both engines pass
 * the same tests), in the relay-native project below, with PeoteServer/PeoteClient through it.
 * The other files of test/relay stay on the Node engine only because they test its internals or
 * no relay at all: forwarding.test.ts (drives the Node read loop with fake streams),
 * idle-memory.test.ts (its parser pool and slabs), outbox/token-bucket/logger.test.ts (units of
 * the Node engine and the logger), cli.test.ts (the command line; engine-option.test.ts starts it
 * with --engine native), and the engine-* tests of the control plane, which choose their engine
 * themselves.
 */
const RELAY_NATIVE_SUITES = [
  'test/relay/relay.test.ts',
  'test/relay/relay-vectors.test.ts',
  'test/relay/backpressure.test.ts',
  'test/relay/budgets.test.ts',
  'test/relay/fuzz.test.ts',
  'test/relay/drop-close.test.ts',
  'test/peote/relay.test.ts',
  // Says in the summary whether the suites above ran on the native engine or why they were skipped.
  'test/relay/engine-native.test.ts',
];

/**
 * The cluster's relay suites that run a second time on the native relay engine (issue 19: the
 * cluster works with both engines). The --workers handoff suites choose their engines themselves
 * (relay-worker-handoff.test.ts runs `--engine node` and `--engine native`; the -mixed one a worker
 * of each), so they are not listed here.
 */
const CLUSTER_NATIVE_SUITES = [
  'test/cluster/relay-cluster.test.ts',
  'test/cluster/relay-vectors.test.ts',
  'test/cluster/relay-late-entry.test.ts',
  'test/cluster/relay-outage.test.ts',
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
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/relay/engine-native.test.ts'] },
      },
      {
        extends: true,
        // test/relay/engine-setup.ts starts every relay of these files on the native engine, or
        // skips them all, loudly, where it cannot run (GAMEWIRE_NATIVE=0, no addon, not Linux).
        test: { name: 'relay-native', include: RELAY_NATIVE_SUITES, setupFiles: ['test/relay/engine-setup.ts'] },
      },
      {
        extends: true,
        // The cluster's relay suites on the native engine (remote routes, REMOTE records), with
        // the same setup: skipped loudly where the native engine cannot run.
        test: { name: 'cluster-native', include: CLUSTER_NATIVE_SUITES, setupFiles: ['test/relay/engine-setup.ts'] },
      },
    ],
  },
});
