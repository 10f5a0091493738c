/**
 * The joint client hooks of the Node entry (`gamewire/peote`, and `gamewire`'s `peote`): the TCP
 * connector and the parsers core's loader picks. Node-only.
 */
import { jointClientHooks, type JointClientPlatform } from '../joint/client-platform.js';
import { nodePlatform } from '../platform/node.js';

/** Mutable: the Node entry's `configureJointClient` changes it. */
export const nodeJointHooks: JointClientPlatform = jointClientHooks(nodePlatform);
