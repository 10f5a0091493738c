/**
 * Limits of the joint protocol (joint.md §7). The protocol-fixed ones are hard maxima: a relay
 * may be configured below them, never above, because the numbers must fit their wire fields.
 */

/** Own joints per connection (joints): `jOwn` is 0..127 (joint.md §7). Past it create fails with err 1. */
export const MAX_OWN_JOINTS = 128;

/** Entered joints per connection (joints): `jIn` is 0..127 (joint.md §7). Past it enter fails with err 5. */
export const MAX_IN_JOINTS = 128;

/**
 * Users per joint (users): `userNr` is 0..255, so 256, not the 255 of the original README
 * (joint.md §7, observed). Past it enter fails with err 4 (FULL).
 */
export const MAX_USERS_PER_JOINT = 256;

/** Joint id length (bytes): the command's `len` is one byte (joint.md §1). */
export const MAX_ID_BYTES = 255;

/** Largest data frame size (bytes), routing header included: 15 bits (joint.md §2.2). */
export const MAX_FRAME_SIZE = 32767;

/**
 * Data bytes per frame a sender must respect (bytes): 32767 minus the 2-byte owner routing
 * header (joint.md §2.5). Longer sends are split into several frames.
 */
export const MAX_FRAME_DATA_BYTES = 32765;

/** Smallest data frame size (bytes): 0 and 1 collide with the `00`/`01` markers (joint.md §2.2). */
export const MIN_FRAME_SIZE = 2;

/** Largest size written with the 1-byte form (bytes); from 128 on the 2-byte form is used (joint.md §2.2). */
export const MAX_SHORT_FRAME_SIZE = 127;

/** Largest command or control payload (bytes): its `len` is one byte (joint.md §7). */
export const MAX_CONTROL_PAYLOAD_BYTES = 255;

/** Keepalive period (ms) of outbound silence before the relay sends `00 04 00 FF 00 00` (joint.md §7). */
export const KEEPALIVE_MS = 5000;

/** Login timeout (ms): accept until the first byte or the end of the WebSocket handshake (joint.md §7). */
export const LOGIN_TIMEOUT_MS = 5000;

/** Concurrent connections per source IP (connections): the original's shipped config (joint.md §7). */
export const MAX_CONNECTIONS_PER_IP = 23;

/** Largest inbound WebSocket message (bytes): the original's parser limit; above it close 1009 (joint.md §16 D8). */
export const MAX_WEBSOCKET_PAYLOAD_BYTES = 65536;
