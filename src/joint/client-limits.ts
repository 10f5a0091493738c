/**
 * Limits of the joint client side (connections to a relay, local routing in the process).
 */

/** Largest WebSocket message a client sends (bytes): the original relay's parser limit (joint.md §7, §9). */
export const CLIENT_MAX_WEBSOCKET_MESSAGE_BYTES = 65536;

/**
 * Capacity kept for a connection's outbound buffer between ticks (bytes). A tick that queues
 * more grows it; after the flush it shrinks back to this, so one burst does not pin memory.
 */
export const CLIENT_OUTPUT_KEEP_BYTES = 256 * 1024;

/** Requests awaiting a reply per connection: cmdNr 1..255 (joint.md §3). Past it the request fails. */
export const CLIENT_MAX_PENDING_REQUESTS = 255;

/**
 * Local joints in one process: offline servers and local clients each get a jointNr from
 * 128 upwards (joint.md §13), 128..128+this-1. Past it create/enter fails with MAX.
 */
export const MAX_LOCAL_JOINTS = 4096;

/** First jointNr of offline servers and local clients (joint.md §13): above any relay number. */
export const LOCAL_JOINT_NR_BASE = 128;

/**
 * Local users per joint (users): userNr 256..256+this-1 (joint.md §13). Past it enter fails
 * with FULL, as a full relay joint does.
 */
export const MAX_LOCAL_USERS = 256;

/** First userNr of local users (joint.md §13): values >= 256 mark local users. */
export const LOCAL_USER_NR_BASE = 256;

/**
 * Unsent bytes a connection may hold (bytes), default 64 MiB: our queue plus the socket's. A
 * flush that finds more (the relay or the network cannot keep up with what the application
 * sends) closes the connection, and every joint on it hears CLOSE, instead of growing memory
 * without bound.
 */
export const CLIENT_MAX_OUTBOUND_BYTES = 64 * 1024 * 1024;
