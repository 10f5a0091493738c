/**
 * The browser face of the mm style (bundled by issue 6's `gamewire/browser`): Client,
 * pollEvents and EventType over WebSocket and WebCrypto. Imports no Node built-in; there is no
 * Server in a browser.
 */
import { setMmPlatform } from './platform.js';
import { webMmPlatform } from './web-platform.js';
import { makeNetwork, type Network } from './compat.js';

setMmPlatform(webMmPlatform);

export { Client, type ClientOptions } from './client.js';
export {
  EventType,
  pollEvents,
  droppedEvents,
  configureEventQueue,
  type MmEvent,
  type ConnectedEvent,
  type ReceiveEvent,
  type ServerCloseEvent,
  type ErrorEvent,
} from './events.js';
export { MmArgumentError } from './errors.js';
export { toCompatEvent, type CompatEvent } from './compat.js';

/** The compat namespace without `Server` (it returns `[null, reason]` in a browser). */
export const network: Network = makeNetwork(null);
