/** Every soak component by name, in start order. */
import type { ComponentFactory } from './component.js';
import { EventsLoad } from './events-load.js';
import { MmLoad } from './mm-load.js';
import { RelayLoad } from './relay-load.js';
import { UdpLoad } from './udp-load.js';

export const COMPONENTS: Record<string, ComponentFactory> = {
  relay: (tally, settings) => new RelayLoad(tally, settings),
  mm: (tally, settings) => new MmLoad(tally, settings),
  udp: (tally, settings) => new UdpLoad(tally, settings),
  events: (tally, settings) => new EventsLoad(tally, settings),
};
