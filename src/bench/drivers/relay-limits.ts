/**
 * Limits of the relay bench driver (`gamewire bench relay`). The protocol-fixed ones come from
 * the joint protocol (joint.md §7, §10); the others bound what the generator itself buffers.
 */
import { MAX_CHUNK_BYTES } from '../../core/limits.js';
import { MAX_USERS_PER_JOINT } from '../../joint/limits.js';

/**
 * Largest payload (bytes) of one bench frame: 32768, the chunk layer's default `maxChunkSize`
 * (joint.md §10.2), the largest chunk an original peote-net peer accepts with its 2-byte prefix.
 * Each payload travels as one chunk, split into joint frames of at most 32765 data bytes
 * (§2.5). A `size` above it is a RangeError when the driver is made.
 */
export const RELAY_MAX_PAYLOAD_BYTES = MAX_CHUNK_BYTES;

/**
 * Users per joint (users): 256, the protocol's userNr range (joint.md §7). A `users` above it
 * is a RangeError when the driver is made; the relay would answer enter with err 4 (FULL).
 */
export const RELAY_MAX_USERS = MAX_USERS_PER_JOINT;

/**
 * Send high-water mark per connection (bytes), default 256 KiB: bytes queued in the driver plus
 * those the socket has not yet taken (`writableLength`, or `bufferedAmount` on a WebSocket). Past
 * it `send()` returns false and the engine retries later, so a relay that stops reading stalls
 * the generator (and shows in the latency) instead of growing its memory without bound. 256 KiB
 * holds a window of 16 frames of the largest payload several times over.
 */
export const RELAY_SEND_HIGH_WATER_BYTES = 256 * 1024;

/**
 * Largest outbound backlog of an owner's echoes (bytes), default 16 MiB. Echoes answer what the
 * relay delivered, so they cannot be refused like a send; past it the relay is taken to have
 * stopped reading the owner: the run is told (`fail`) and that connection is closed.
 */
export const RELAY_MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

/**
 * Outbound slab per connection (bytes), default 16 KiB: frames of one tick are written into it
 * and handed to the socket as one write (one WebSocket message) at the end of the tick. A frame
 * larger than the slab gets a slab of its own size. Kept below 64 KiB because that is the
 * largest WebSocket message an original relay accepts (joint.md §7, §9).
 */
export const RELAY_SLAB_BYTES = 16 * 1024;

/**
 * Units per parser feed (units), default 256: the joint parser and chunk assembler of every
 * connection report at most this many units per call (6 KiB of Int32Array each); past it the
 * driver feeds the rest of the read in another call.
 */
export const RELAY_UNITS_PER_FEED = 256;

/**
 * Connections being opened at once (connections), default 256: the others wait for a slot, so a
 * run of thousands of connections stays within the relay's accept queue (511 on a Node server
 * by default) instead of losing SYNs and waiting for their retransmission.
 */
export const RELAY_CONNECTS_IN_FLIGHT = 256;

/**
 * How long `close()` waits for the relay to close each connection after leave/delete and the
 * end of the stream (ms), default 2000. Past it the remaining sockets are destroyed.
 */
export const RELAY_CLOSE_TIMEOUT_MS = 2000;
