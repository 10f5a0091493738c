/**
 * The context of the Node entry (`gamewire/mm`, and `gamewire` through it): the Node platform
 * and the global queue its Server and Client share. Node-only.
 */
import { nodePlatform } from '../platform/node.js';
import { MmContext } from './context.js';

/** The Node entry's platform and global event queue. */
export const nodeContext = new MmContext(nodePlatform);
