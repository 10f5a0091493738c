/**
 * Setup of the relay-native vitest project (vitest.config.ts): the relay suites run a second time
 * with every `Relay.listen` that names no engine on the native one. Where the native engine cannot
 * run (GAMEWIRE_NATIVE=0, no addon or one without the engine, not Linux) every test of the project
 * is skipped, and engine-native.test.ts says why in the run's summary: the Node engine must not
 * pass silently for the native one. A relay that asked for native and got node fails its test.
 */
import { beforeEach } from 'vitest';
import { Relay } from '../../src/relay/index.js';
import { nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';

const support = nativeEngineSupport();
/** Why the native engine cannot run here, or null when it can. */
export const NATIVE_ENGINE_MISSING: string | null = typeof support === 'string' ? support : null;

/**
 * What the native engine does not do yet (issue 19), each with the tests it fails, matched
 * against "suite > test" names. engine-native.test.ts lists every reason in the run's summary;
 * an entry goes once the engine passes its tests.
 */
export const NATIVE_ENGINE_GAPS: readonly { why: string; tests: RegExp }[] = [];

if (NATIVE_ENGINE_MISSING !== null) {
  beforeEach((ctx) => ctx.skip(`native relay engine: ${NATIVE_ENGINE_MISSING}`));
} else {
  beforeEach((ctx) => {
    const names: string[] = [];
    for (let t: { name: string; suite?: unknown } | undefined = ctx.task; t !== undefined; t = t.suite as typeof t) names.unshift(t.name);
    const gap = NATIVE_ENGINE_GAPS.find((g) => g.tests.test(names.join(' > ')));
    if (gap !== undefined) ctx.skip(`native relay engine: ${gap.why}`);
  });
  const listen = Relay.listen.bind(Relay);
  Relay.listen = async (options = {}) => {
    const relay = await listen({ engine: 'native', ...options });
    if (options.engine === undefined && relay.engine !== 'native') {
      await relay.close();
      throw new Error(`the relay-native project got the ${relay.engine} engine`);
    }
    return relay;
  };
}
