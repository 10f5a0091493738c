/**
 * The Node connector: raw TCP to the relay (joint.md §2). Node-only (imports node:net through
 * the transport), so only the Node entry imports this file.
 */
import { connectTcp } from '../transport/tcp-stream.js';
import type { JointConnector } from './client-platform.js';

/** Opens a raw TCP connection to the relay. */
export const tcpConnector: JointConnector = (host, port) => connectTcp(host, port);
