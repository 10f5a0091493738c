/**
 * The hooks the client side of the joint protocol runs on: how it reaches the relay and its two
 * parsers. Each peote entry makes its own from a platform (src/platform/) with
 * `jointClientHooks` (`gamewire/peote`: TCP and the components core's loader picks;
 * `gamewire/peote/browser`: WebSocket and core's TypeScript set) and passes them to what it
 * builds; nothing is installed globally. This file chooses no implementation and imports
 * nothing from Node.
 */
import type { JointClientPlatform, Platform } from '../platform/types.js';

export type { JointConnector, JointClientPlatform } from '../platform/types.js';

/**
 * New hooks over `platform`'s connector and parsers (what a peote entry holds). The object is
 * mutable: `configureJointHooks` changes it, and what reads it reads it when it opens a
 * connection or starts a joint.
 */
export function jointClientHooks(platform: Platform): JointClientPlatform {
  return {
    connect: platform.jointConnector,
    jointParser: (options) => platform.jointParser(options),
    chunkAssembler: (options) => platform.chunkAssembler(options),
  };
}

/**
 * Replace some of `hooks`, e.g. `{ connect: myConnector }` to reach the relay through a proxy
 * or over WebSocket from Node (each entry's `configureJointClient`).
 */
export function configureJointHooks(hooks: JointClientPlatform, changes: Partial<JointClientPlatform>): void {
  if (changes.connect !== undefined) hooks.connect = changes.connect;
  if (changes.jointParser !== undefined) hooks.jointParser = changes.jointParser;
  if (changes.chunkAssembler !== undefined) hooks.chunkAssembler = changes.chunkAssembler;
}
