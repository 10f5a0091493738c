/**
 * gamewire/udp: UDP sessions in the UDPIPE style (../docs/udp.md, udpipe.md).
 */
export { UdpPipe } from './udp-pipe.js';
export type { UdpPipeStats } from './udp-pipe.js';
export { UdpSession } from './session.js';
export type { SessionState, DisconnectReason } from './session.js';
export type { UdpPipeOptions, UdpLog } from './options.js';
export { UdpError } from './errors.js';
export type { UdpErrorCode } from './errors.js';
export type { Refusal } from './words.js';
export * as udpLimits from './limits.js';
