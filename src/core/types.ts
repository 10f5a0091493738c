/**
 * The interfaces of the five hot-path components. Each has two implementations with identical
 * results: a TypeScript twin in this folder and a native wrapper over the addon (`native.ts`).
 * `load.ts` chooses one per component.
 *
 * Result convention (STYLE.md §5): a parser fills a reused `Int32Array` of units and returns how
 * many it wrote. Offsets point into the input of that call (borrowed: valid until the next
 * `feed()`), or, when the unit has `UnitFlag.InCarry`, into `carry()` (also valid until the next
 * `feed()`). At most one unit per `feed()` is in carry: the one that began in an earlier call.
 */

/** Flags in the `flags` field of a unit. Mirrors `native/common.h`. */
export const UnitFlag = {
  /** The piece begins at the first data byte of its frame. */
  FrameStart: 1,
  /** The piece ends at the last byte of its frame. */
  FrameEnd: 2,
  /** The unit's offset refers to `carry()`, not to the input. */
  InCarry: 4,
} as const;

/** Which byte stream a JointParser reads (joint.md §2.1 vs §2.4). */
export const JointDirection = {
  /** Bytes a client sends to the relay: commands, broadcast prefixes, data frames. */
  ToRelay: 0,
  /** Bytes the relay sends to a client: control messages and data frames. */
  ToClient: 1,
} as const;
export type JointDirection = (typeof JointDirection)[keyof typeof JointDirection];

/** Unit kinds of the JointParser. */
export const JointUnitKind = {
  /** ToRelay `00 cmd cmdNr len payload`: a = cmd, b = cmdNr, payload at offset/length. */
  Command: 1,
  /** ToClient `00 len payload`: payload at offset/length; a = b = 0. */
  Control: 2,
  /**
   * A piece of a data frame's data (routing header stripped): a = first routing byte
   * (jIn 0..127, or jOwn + 128), b = userNr when a >= 128, else -1. A frame may arrive as
   * several pieces (FrameStart on the first, FrameEnd on the last). Empty pieces are not emitted.
   */
  Data: 3,
  /**
   * ToRelay: a piece of a broadcast frame (`01 mode` + owner frame): a = jOwn + 128,
   * b = excluded userNr (mode 0) or -1 (mode 1, all users).
   */
  Broadcast: 4,
} as const;

/** Int32 slots per JointParser unit: [kind, flags, a, b, offset, length]. */
export const JOINT_UNIT_STRIDE = 6;
/** Int32 slots per FrameDecoder unit: [flags, offset, length]. */
export const FRAME_UNIT_STRIDE = 3;
/** Int32 slots per ChunkAssembler unit: [flags, offset, length]. */
export const CHUNK_UNIT_STRIDE = 3;
/** Int32 slots per Aead batch job: [inOffset, inLength, outOffset, result]. */
export const AEAD_JOB_STRIDE = 4;
/** Float64 slots per EventRing entry: [kind, peer, timestamp, offset, length]. */
export const RING_ENTRY_STRIDE = 5;

/** Common shape of the three stream parsers. */
export interface StreamParser {
  /** Units of the last `feed()`, `count × stride` slots used. Reused; do not keep. */
  readonly units: Int32Array;
  /** Bytes of the last `feed()`'s input consumed: less than its length only when `units` filled up. */
  readonly consumed: number;
  /** `ErrorCode.Ok`, or the error that stopped parsing; once set the parser stays failed. */
  readonly error: number;
  /** The buffer that `InCarry` units point into. Borrowed until the next `feed()`. */
  carry(): Uint8Array;
}

/**
 * Splits a joint-protocol byte stream into units (joint.md §2-5), across arbitrary splits.
 */
export interface JointParser extends StreamParser {
  readonly direction: JointDirection;
  /**
   * Parse `input[offset, offset + length)`.
   * @returns the number of units written to `units`; check `error` and `consumed` afterwards.
   */
  feed(input: Uint8Array, offset: number, length: number): number;
  /** Forget all state and any error. */
  reset(): void;
}

/** Options of a JointParser. */
export interface JointParserOptions {
  direction: JointDirection;
  /** Unit capacity per feed (default `MAX_UNITS_PER_FEED`). */
  maxUnits?: number;
}

/**
 * Splits gamewire's frames: `u32 LE body length` then the body (docs/protocol.md).
 * Frames split across reads are assembled in the carry buffer.
 */
export interface FrameDecoder extends StreamParser {
  readonly maxFrameBytes: number;
  feed(input: Uint8Array, offset: number, length: number): number;
  reset(): void;
}

/** Options of a FrameDecoder. */
export interface FrameDecoderOptions {
  /** Largest accepted body length (default `MAX_FRAME_BYTES`). */
  maxFrameBytes?: number;
  /** Unit capacity per feed (default `MAX_UNITS_PER_FEED`). */
  maxUnits?: number;
}

/**
 * Reassembles chunks (joint.md §10: varint of length - 1, then the payload) per stream.
 * An error fails only its stream; `dropStream` resets it.
 */
export interface ChunkAssembler extends StreamParser {
  readonly maxChunkBytes: number;
  /** Varint width N of the chunk prefix, 1..4. */
  readonly prefixBytes: number;
  readonly maxStreams: number;
  /**
   * Feed stream bytes of `stream` (0 <= stream < maxStreams).
   * @returns the number of whole chunks written to `units`; `error` is this stream's error.
   */
  feed(stream: number, input: Uint8Array, offset: number, length: number): number;
  /** Forget a stream's partial chunk and error (on disconnect). */
  dropStream(stream: number): void;
}

/** Options of a ChunkAssembler. */
export interface ChunkAssemblerOptions {
  /** Largest chunk (default `MAX_CHUNK_BYTES` = 32768). */
  maxChunkBytes?: number;
  /** Prefix width N; default derived from maxChunkBytes as the original does (joint.md §10.2). */
  prefixBytes?: number;
  /** Stream ids are 0..maxStreams-1 (default `MAX_STREAMS`). */
  maxStreams?: number;
  /** Unit capacity per feed (default `MAX_UNITS_PER_FEED`). */
  maxUnits?: number;
}

/**
 * AES-GCM in one direction with an implicit counter nonce:
 * nonce = noncePrefix (4 bytes) || counter (u64 big-endian). Each seal/open uses the next
 * counter, so a replayed, reordered or dropped packet fails authentication.
 */
export interface Aead {
  /** 16 (AES-128) or 32 (AES-256). */
  readonly keyBytes: number;
  /** The counter the next seal/open will use. */
  readonly counter: number;
  /**
   * Encrypt `input[inOffset, +inLength)` into `output` at `outOffset` (ciphertext then 16-byte tag).
   * @returns bytes written (inLength + 16), or a negative ErrorCode.
   */
  seal(input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number): number;
  /**
   * Decrypt and verify `input[inOffset, +inLength)` (ciphertext then tag) into `output`.
   * @returns plaintext bytes written, or `-ErrorCode.AuthFailed`; the counter advances only on success.
   */
  open(input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number): number;
  /**
   * Seal `count` jobs in one call; `jobs` holds `[inOffset, inLength, outOffset, result]` per job.
   * @returns the number of jobs sealed.
   */
  sealBatch(input: Uint8Array, output: Uint8Array, jobs: Int32Array, count: number): number;
  /**
   * Open `count` jobs in order, stopping at the first failure (its result is `-ErrorCode.AuthFailed`).
   * @returns the number of jobs opened successfully.
   */
  openBatch(input: Uint8Array, output: Uint8Array, jobs: Int32Array, count: number): number;
}

/**
 * Fixed-capacity FIFO of events (kind, peer, timestamp, payload). When full, a push drops the
 * oldest entry and counts it; when the payload arena is short of space, the oldest entries are
 * dropped until the new payload fits. `poll()` takes everything at once.
 */
export interface EventRing {
  readonly capacity: number;
  readonly arenaBytes: number;
  /** Entries queued now. */
  readonly size: number;
  /** Entries dropped since construction. */
  readonly dropped: number;
  /** The arena that polled offsets point into. Valid until the next push. */
  readonly arena: Uint8Array;
  /** Entries of the last poll: `RING_ENTRY_STRIDE` slots each. Reused. */
  readonly polled: Float64Array;
  /**
   * Queue one event, copying its payload.
   * @returns entries dropped to make room (0 or more), or `-ErrorCode.RingPayloadTooLarge`.
   */
  push(kind: number, peer: number, timestamp: number, payload: Uint8Array, offset: number, length: number): number;
  /**
   * Queue `count` events; `meta` holds `[kind, peer, timestamp, offset, length]` per event with
   * offsets into `payloads`. Stops at the first payload larger than the arena.
   * @returns entries dropped, or a negative ErrorCode.
   */
  pushBatch(meta: Float64Array, count: number, payloads: Uint8Array): number;
  /** Move every queued entry into `polled` (oldest first) and empty the ring. @returns the count. */
  poll(): number;
}

/** Options of an EventRing. */
export interface EventRingOptions {
  /** Entries (default `EVENT_RING_CAPACITY` = 2000). */
  capacity?: number;
  /** Payload arena size (default `EVENT_RING_ARENA_BYTES`). */
  arenaBytes?: number;
}

/** Which implementation serves a component. */
export type Implementation = 'native' | 'fallback';
