/**
 * The exports shared by the Node and browser entries of gamewire/peote. Browser-safe. What runs
 * on an entry's platform (PeoteServer, PeoteClient, configureJointClient) is defined by each
 * entry over its own hooks.
 */
export type { PeoteServerOptions } from './peote-server.js';
export type { PeoteClientOptions } from './peote-client.js';
export type { PeoteMode } from './chunks.js';
export { encodeChunk } from './chunks.js';
export { Reason, reasonForCreateError, reasonForEnterError } from './reason.js';
export { PeoteBytesOutput } from './peote-bytes-output.js';
export { PeoteBytesInput } from './peote-bytes-input.js';
export { PeoteBytesError } from './bytes-error.js';
export { RpcTypes, type RpcType, type RpcValue, type RpcArgs } from './rpc-types.js';
export {
  defineRemote,
  dispatchCall,
  RemoteInterface,
  type RemoteSchema,
  type RemoteImplementation,
  type RemoteProxy,
  type RemoteObject,
} from './remote.js';
export * from './limits.js';
export type { JointConnector, JointClientPlatform } from '../joint/client-platform.js';
export { webSocketConnector, webSocketUrl } from '../platform/connect.js';
export { destroyAllJointConnections } from '../joint/client-connection.js';
export { EmulatedLink, type EmulatedLinkOptions } from '../transport/offline.js';
