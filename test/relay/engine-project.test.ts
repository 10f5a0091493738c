/**
 * Runs only in the relay-node vitest project (vitest.config.ts): says in the run's summary whether
 * the relay suites of that project ran a second time, on the Node engine, or why they were
 * skipped (engine-setup.ts). The main project runs them on the default engine, the native one
 * where it can run.
 */
import { describe, expect, it } from 'vitest';
import { Relay, silentLogger } from '../../src/relay/index.js';
import { NODE_PROJECT_REDUNDANT } from './engine-setup.js';

const title = `relay suites on the Node engine${NODE_PROJECT_REDUNDANT !== null ? ` [skipped: ${NODE_PROJECT_REDUNDANT}]` : ''}`;

describe.skipIf(NODE_PROJECT_REDUNDANT !== null)(title, () => {
  it('starts relays on the Node engine, while the default is the native one', async () => {
    const relay = await Relay.listen({ logger: silentLogger });
    try {
      expect(relay.engine).toBe('node');
      expect(relay.options.engine).toBe('node');
    } finally {
      await relay.close();
    }
  });
});
