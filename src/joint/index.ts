/**
 * The joint protocol (joint.md): its byte formats (`protocol.ts`: constants and encoders), limits,
 * lowest-free numbering and the relay's joint bookkeeping. The client side (`client*.ts`) builds
 * on the same protocol module.
 */
export * from './limits.js';
export * from './protocol.js';
export { LowestFree } from './numbers.js';
export { JointEndpoint, JointState, Joint, Membership, idKey, type JointStateListener, type JointStateLimits, type AssignResult } from './relay-state.js';
