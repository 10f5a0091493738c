/**
 * The implementations every core suite runs under: the fallback always, the addon when it
 * loaded (GAMEWIRE_NATIVE=0 leaves it out). Use with `describe.each(IMPLEMENTATIONS)`.
 */
import { fallbackFactories, nativeFactories, type CoreFactories } from '../../src/core/index.js';

export const IMPLEMENTATIONS: CoreFactories[] = nativeFactories ? [nativeFactories, fallbackFactories] : [fallbackFactories];
