/**
 * Limits of the core components. Each is a default; constructors take overrides.
 */

/**
 * Units one `feed()` may return (units). 1024 keeps the result array at 24 KiB for the joint
 * parser; past it `feed()` stops early and reports `consumed`, and the caller feeds the rest.
 */
export const MAX_UNITS_PER_FEED = 1024;

/**
 * Largest gamewire frame body (bytes), default 64 KiB. A length prefix above it is
 * `GW_ERR_FRAME_TOO_LARGE` the moment it is read, before anything is buffered. Messages larger
 * than a frame are chunked (docs/protocol.md), so this bounds per-connection buffering.
 */
export const MAX_FRAME_BYTES = 65536;

/** Hard ceiling for `maxFrameBytes` (bytes): 16 MiB. */
export const MAX_FRAME_BYTES_LIMIT = 16 * 1024 * 1024;

/** Bytes of the gamewire frame length prefix (u32 little-endian). */
export const FRAME_PREFIX_BYTES = 4;

/**
 * Default chunk size limit (bytes), the original peote-net default (joint.md §10.2). The one
 * definition of the chunk limit: peote exports it as `MAX_CHUNK_SIZE` (option `maxChunkSize`);
 * the ChunkAssembler option is `maxChunkBytes`. A chunk prefix above the limit is
 * `GW_ERR_CHUNK_TOO_LARGE` the moment it is decoded, before any payload is buffered.
 */
export const MAX_CHUNK_BYTES = 32768;

/**
 * Largest chunk a 4-byte prefix can express (bytes): 2^29, i.e. `varintMax(4) + 1`
 * (joint.md §10.1; `kMaxChunkBytesLimit` in native/varint.h). The ceiling of every chunk-size
 * option (`maxChunkBytes`, peote's `maxChunkSize`).
 */
export const MAX_CHUNK_BYTES_LIMIT = 2 ** 29;

/** Default number of chunk streams per assembler (ids 0..1023). */
export const MAX_STREAMS = 1024;

/** AES-GCM tag length (bytes); a format fact. */
export const AEAD_TAG_BYTES = 16;
/** AES-GCM nonce length (bytes); a format fact. */
export const AEAD_NONCE_BYTES = 12;
/** Bytes of the fixed nonce prefix; the other 8 are the counter. */
export const AEAD_NONCE_PREFIX_BYTES = 4;
/**
 * Counters stop at 2^48 (packets per direction): far past any session, and exact in a JS number.
 * Past it seal/open return `GW_ERR_COUNTER_EXHAUSTED`; the connection must rekey or close.
 */
export const AEAD_MAX_COUNTER = 2 ** 48;

/** Default EventRing capacity (entries), as the MM engine's queue. */
export const EVENT_RING_CAPACITY = 2000;
/**
 * Default EventRing payload arena (bytes): 17 MiB, one maximum message (16 MiB) plus slack.
 * Allocated once; untouched pages cost no memory.
 */
export const EVENT_RING_ARENA_BYTES = 17 * 1024 * 1024;

/**
 * Ceiling for an EventRing's `arenaBytes` (bytes): 2^31 - 1, so every payload offset fits an
 * int32 on both implementations. A plain number, not `buffer.constants.MAX_LENGTH`, so the ring
 * imports no Node built-in and runs in browsers.
 */
export const MAX_EVENT_RING_ARENA_BYTES = 2 ** 31 - 1;
