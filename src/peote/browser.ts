/**
 * gamewire/peote for browsers: the same API as the Node entry, on the browser hooks: the relay
 * over WebSocket (joint.md §9) when the page has one, and the TypeScript parsers.
 * Imports nothing from Node.
 */
import { configureJointHooks, jointClientHooks, type JointClientPlatform } from '../joint/client-platform.js';
import { webPlatform } from '../platform/web.js';
import { PeoteClient as ClientOnHooks, type PeoteClientOptions } from './peote-client.js';
import { PeoteServer as ServerOnHooks, type PeoteServerOptions } from './peote-server.js';

/** This entry's connector and parsers; `configureJointClient` changes them. */
const webJointHooks: JointClientPlatform = jointClientHooks(webPlatform);

export * from './common.js';

/** Owns one joint through a relay reached over WebSocket, or offline in the page. */
export class PeoteServer extends ServerOnHooks {
  /** @throws as the Node entry's PeoteServer (bad options: TypeError / RangeError) */
  constructor(options?: PeoteServerOptions) {
    super(webJointHooks, options);
  }
}

/** Enters one joint through a relay reached over WebSocket, or one of this page locally. */
export class PeoteClient extends ClientOnHooks {
  /** @throws as the Node entry's PeoteClient (bad options: TypeError / RangeError) */
  constructor(options?: PeoteClientOptions) {
    super(webJointHooks, options);
  }
}

/** Replace some of this entry's joint client hooks (e.g. another WebSocket connector). */
export function configureJointClient(hooks: Partial<JointClientPlatform>): void {
  configureJointHooks(webJointHooks, hooks);
}
