/**
 * Limits of the peote style. Protocol-fixed values come from joint.md; the rest are defaults.
 */
import { MAX_CHUNK_BYTES } from '../core/limits.js';

/** Varint width of PeoteBytes lengths and counts (joint.md §11: N = 4). */
export const BYTES_VARINT_WIDTH = 4;

/** Largest length or count a PeoteBytes varint can carry: 2^29 - 1 (joint.md §10.1). */
export const BYTES_MAX_LENGTH = 2 ** 29 - 1;

/** Initial capacity of a PeoteBytesOutput (bytes); it doubles as needed. */
export const BYTES_OUTPUT_INITIAL_BYTES = 256;

/** Remote functions per RPC interface (joint.md §12): fnIndex is one byte. */
export const RPC_MAX_FUNCTIONS = 256;

/** Remote ids 0..255 (joint.md §12). */
export const RPC_MAX_REMOTE_ID = 255;

/**
 * Largest element count an RPC decoder accepts for one array or map (elements). A count is
 * checked against the bytes left before anything is allocated, so a hostile count cannot make
 * the decoder allocate more than the chunk's size; this is a second, explicit bound.
 */
export const RPC_MAX_ELEMENTS = 1 << 20;

/** Nesting depth an RPC schema may declare (arrays of maps of arrays...). */
export const RPC_MAX_SCHEMA_DEPTH = 16;

/**
 * Default chunk size limit (bytes), the original's (joint.md §10.2): peote-net's name for core's
 * `MAX_CHUNK_BYTES`, the one definition of the value (option `maxChunkSize`).
 */
export const MAX_CHUNK_SIZE = MAX_CHUNK_BYTES;

/** Data bytes per joint data frame a sender must respect (joint.md §2.5). */
export const MAX_FRAME_DATA_BYTES = 32765;

/** Offline emulation defaults (joint.md §13). */
export const DEFAULT_NET_LAG_MS = 20;
/** Offline emulation default bandwidth (bytes/s): 1 MiB/s (joint.md §13). */
export const DEFAULT_NET_SPEED_BYTES_PER_SEC = 1024 * 1024;
/**
 * Bound of the emulated link's queued delay (ms): the delay model's `last_delay` is clamped here
 * (joint.md §13 asks for a bound; an upstream TODO notes an overflow risk). 60 s.
 */
export const MAX_EMULATED_DELAY_MS = 60_000;
