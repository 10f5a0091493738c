/**
 * `refusedPending` (issue 19): the native engine's refusals past its pending-socket backstop
 * (kMaxPendingConnections) reach `Relay.stats()` and the metrics
 * (`gamewire_relay_connections_refused_pending_total`); the Node engine has no such backstop and
 * reports 0. Filling 16384 silent sockets is too heavy for a test: the engine's counter is read
 * through the same view as the relay's, over a stand-in for `engine.stats`.
 */
import { describe, expect, it } from 'vitest';
import { Relay, silentLogger } from '../../src/relay/index.js';
import { RelayStats, snapshotOf } from '../../src/relay/stats.js';
import { EngineCounters, EngineStatsView } from '../../src/relay/engine/engine-stats.js';
import { createRelayRegistry } from '../../src/relay/metrics.js';
import { nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';

const live = { joints: 0, users: 0, backlogBytes: 0, pendingConnections: 0, pendingUpgrades: 0 };

describe('refusedPending', () => {
  it("is the engine's counter in stats() and the metrics on the native engine", async () => {
    const counters = new EngineCounters(['connections', 'refusedPending'], (out) => {
      out[0] = 0;
      out[1] = 3;
    });
    const view = new EngineStatsView(new RelayStats(), counters) as unknown as RelayStats;
    expect(snapshotOf(view, live, undefined).refusedPending).toBe(3);
    const metrics = await createRelayRegistry(view, () => live).getSingleMetricAsString('gamewire_relay_connections_refused_pending_total');
    expect(metrics).toMatch(/^gamewire_relay_connections_refused_pending_total 3$/m);
  });

  it.skipIf(typeof nativeEngineSupport() === 'string')('is read from the running native engine', async () => {
    const relay = await Relay.listen({ logger: silentLogger, engine: 'native' });
    try {
      expect(relay.engine).toBe('native');
      expect(relay.stats().refusedPending).toBe(0);
    } finally {
      await relay.close();
    }
  });

  it('is 0 on the Node engine (no backstop: the caps judge every socket at accept)', async () => {
    const relay = await Relay.listen({ logger: silentLogger, engine: 'node' });
    try {
      expect(relay.stats().refusedPending).toBe(0);
    } finally {
      await relay.close();
    }
  });
});
