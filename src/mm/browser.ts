/**
 * The browser face of the mm style (bundled by issue 6's `gamewire/browser`): Client,
 * pollEvents and EventType over WebSocket and WebCrypto, on the browser platform passed in
 * through this entry's context. Imports no Node built-in; there is no Server in a browser.
 */
import type { EventRingOptions } from '../core/types.js';
import { webPlatform } from '../platform/web.js';
import { Client as ClientOnContext, type ClientOptions } from './client.js';
import { MmContext } from './context.js';
import type { MmEvent } from './events.js';
import { makeNetwork, type Network } from './compat.js';

/** The browser entry's platform and global event queue. */
const webContext = new MmContext(webPlatform);

export type { ClientOptions } from './client.js';
export {
  EventType,
  type MmEvent,
  type ConnectedEvent,
  type ReceiveEvent,
  type ServerCloseEvent,
  type ErrorEvent,
} from './events.js';
export { MmArgumentError } from './errors.js';
export { toCompatEvent, type CompatEvent } from './compat.js';

/**
 * A client for tables and polling in a browser: WebSocket (`wss:` when the page is https) and
 * WebCrypto. It starts connecting at once; poll for CONNECTED or await `waitForConnect()`.
 */
export class Client extends ClientOnContext {
  /**
   * Connect to a server.
   * @param address host name or address, or a ws:// / wss:// URL
   * @param port 1..65535
   * @param key 32 or 64 hex digits, the server's key; absent or '' for no encryption
   * @param options limits and queue options
   * @throws MmArgumentError (a RangeError with `code`) on a bad address, port, key or option;
   *   TypeError for an unknown option name
   */
  constructor(address: string, port: number, key?: string, options?: ClientOptions) {
    super(webContext, address, port, key, options);
  }
}

/** Every event since the last call, from the global queue, oldest first. */
export function pollEvents(): MmEvent[] {
  return webContext.pollEvents();
}

/** Events the global queue dropped because it was full (since it was created). */
export function droppedEvents(): number {
  return webContext.droppedEvents();
}

/**
 * Set the global queue's capacity (entries, default 2000) and payload arena (bytes).
 * @throws RangeError when the queue still holds events, or on a bad capacity
 */
export function configureEventQueue(options: EventRingOptions): void {
  webContext.configureEventQueue(options);
}

/** The compat namespace without `Server` (it returns `[null, reason]` in a browser). */
export const network: Network = makeNetwork(webContext, Client, null);
