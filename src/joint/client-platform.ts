/**
 * The hooks the client side of the joint protocol runs on: how it reaches the relay and its two
 * parsers. They come from a platform (src/platform/): a peote entry installs its own with
 * `useJointClientPlatform` (`gamewire/peote`: TCP and the components core's loader picks;
 * `gamewire/peote/browser`: WebSocket and core's TypeScript set). This file chooses no
 * implementation and imports nothing from Node.
 */
import type { JointClientPlatform, Platform } from '../platform/types.js';

export type { JointConnector, JointClientPlatform } from '../platform/types.js';

function notInstalled(): never {
  throw new Error('no joint client platform installed: import gamewire/peote (Node) or gamewire/peote/browser');
}

/** The hooks in force; each throws until an entry installs a platform. */
export const jointClientPlatform: JointClientPlatform = {
  connect: null,
  jointParser: notInstalled,
  chunkAssembler: notInstalled,
};

/**
 * Replace some of the platform hooks, e.g. `configureJointClient({ connect: myConnector })`
 * to reach the relay through a proxy or over WebSocket from Node.
 */
export function configureJointClient(hooks: Partial<JointClientPlatform>): void {
  if (hooks.connect !== undefined) jointClientPlatform.connect = hooks.connect;
  if (hooks.jointParser !== undefined) jointClientPlatform.jointParser = hooks.jointParser;
  if (hooks.chunkAssembler !== undefined) jointClientPlatform.chunkAssembler = hooks.chunkAssembler;
}

/** Install `platform`'s connector and parsers (what a peote entry does). */
export function useJointClientPlatform(platform: Platform): void {
  configureJointClient({
    connect: platform.jointConnector,
    jointParser: (options) => platform.jointParser(options),
    chunkAssembler: (options) => platform.chunkAssembler(options),
  });
}
