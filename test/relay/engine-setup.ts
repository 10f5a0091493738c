/**
 * Setup of the relay-node vitest project (vitest.config.ts). The relay's default engine is the
 * native one (issue 19), so the main project runs the relay suites on it wherever it can run;
 * this project runs them a second time with every `Relay.listen` that names no engine on the
 * Node engine. Where the native engine cannot run (GAMEWIRE_NATIVE=0, no addon or one without
 * the engine, not Linux) the default is already the Node engine and the main project ran these
 * suites on it: every test of this project is then skipped, and engine-project.test.ts says why
 * in the run's summary. A relay that asked for node and got another engine fails its test.
 */
import { beforeEach } from 'vitest';
import { Relay } from '../../src/relay/index.js';
import { nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';

const support = nativeEngineSupport();
/**
 * Why this project has nothing to add here (the main project already ran its suites on the Node
 * engine), or null when it runs them on the Node engine while the main project used the native one.
 */
export const NODE_PROJECT_REDUNDANT: string | null = typeof support === 'string' ? `the default engine here is already node (${support}); the main project ran these suites on it` : null;

if (NODE_PROJECT_REDUNDANT !== null) {
  beforeEach((ctx) => ctx.skip(`relay-node project: ${NODE_PROJECT_REDUNDANT}`));
} else {
  const listen = Relay.listen.bind(Relay);
  Relay.listen = async (options = {}) => {
    const relay = await listen({ ...options, engine: options.engine ?? 'node' });
    if (options.engine === undefined && relay.engine !== 'node') {
      await relay.close();
      throw new Error(`the relay-node project got the ${relay.engine} engine`);
    }
    return relay;
  };
}
