/**
 * The stamp every bench payload carries, so the engine can tell what the target did to each frame:
 * who sent it, which one it was, when it was *meant* to be sent, and whether any byte changed.
 *
 * Layout (little-endian), then filler up to `length`:
 *
 *   0 u32 sender     global sender id (DriverContext.senderBase + local index)
 *   4 u32 sequence   per sender, from 0
 *   8 f64 sentAt     intended send time, ms on the clock shared by all threads (benchClock)
 *  16 u32 length     the whole payload's length in bytes
 *  20 u32 checksum   over bytes 0-19 and the filler (`full`), or a sample of it (`stamp`)
 *
 * `verify: 'full'` (the default): the filler is derived from (sender, sequence) and the checksum
 * covers all of it, so a target that hands back another frame's body under this header,
 * truncates, pads or flips a bit anywhere is caught.
 *
 * `verify: 'stamp'`: the checksum covers bytes 0-19 and three 4-byte words of the filler, the first,
 * the last and one at a place that moves with (sender, sequence); only those words are derived
 * from (sender, sequence); the rest of the filler is not checked (a constant byte in a fresh buffer,
 * what earlier frames left in a buffer the engine reuses). Truncation and padding are
 * still caught (the length), and so is another frame's body (its sampled words differ), but a
 * changed byte outside the sampled words is not: a target that always damages one byte is caught
 * only in the frames whose moving word covers it. It costs the same at every size, where `full`
 * hashes every byte twice (writer and reader): at 1 KiB about a third of the relay driver's CPU.
 *
 * The checksum guards against accidents, not an adversary: the target is the thing measured.
 */

/** Bytes of the stamp at the start of every payload: the smallest `size` a run accepts. */
export const STAMP_BYTES = 24;

/** How much of each payload the checksum covers (BenchOptions.verify). */
export type StampVerify = 'full' | 'stamp';

/** The values of BenchOptions.verify; the first is the default. */
export const STAMP_VERIFY_MODES: readonly StampVerify[] = ['full', 'stamp'];

const SENDER_OFFSET = 0;
const SEQUENCE_OFFSET = 4;
const SENT_AT_OFFSET = 8;
const LENGTH_OFFSET = 16;
const CHECKSUM_OFFSET = 20;

/**
 * Filler bytes below which `stamp` checks the whole filler anyway: the three sampled words need 12
 * bytes apart from each other, and hashing 16 bytes costs what sampling them does.
 */
const SAMPLE_MIN_FILLER_BYTES = 16;
/** Bytes of one sampled filler word. */
const WORD_BYTES = 4;
/** The constant byte of the filler outside the sampled words (`stamp`). */
const FILLER_BYTE = 0xa5;

// Odd constants of the golden ratio and murmur's finaliser: good avalanche, cheap Math.imul.
const GOLDEN = 0x9e3779b1;
const MIX_A = 0x85ebca6b;
const MIX_B = 0xc2b2ae35;

/**
 * The clock of every stamp, in ms: `performance.timeOrigin + performance.now()`. Each worker
 * thread has its own time origin, so `now()` alone would not compare across threads; the sum does,
 * at sub-microsecond resolution.
 */
export function benchClock(): number {
  return TIME_ORIGIN + performance.now();
}

// Constant per thread; read once, since the getter costs as much as now() itself (profiled).
const TIME_ORIGIN = performance.timeOrigin;

function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function mixWord(h: number, w: number): number {
  h = Math.imul(h ^ w, GOLDEN);
  return h ^ (h >>> 15);
}

const CHECKSUM_SEED = 0x2545f491;
/** Seed of `stamp` checksums: a frame of one mode never verifies as the other's by chance of layout. */
const SAMPLED_SEED = 0x6c8e9cf5;

function finalMix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), MIX_A);
  h = Math.imul(h ^ (h >>> 13), MIX_B);
  return (h ^ (h >>> 16)) >>> 0;
}

/** xorshift32 seed of (sender, sequence): a filler that belongs to this frame and no other. */
function fillerSeed(sender: number, sequence: number): number {
  return (Math.imul(sender ^ 0x5bd1e995, GOLDEN) ^ Math.imul(sequence + 1, MIX_A)) | 0 || 1;
}

/** Offset of the moving sampled word in a payload of `end` bytes: in [STAMP_BYTES + 4, end - 8]. */
function movingWordAt(seed: number, end: number): number {
  const span = end - STAMP_BYTES - 2 * WORD_BYTES - (WORD_BYTES - 1);
  // The top 16 bits of a mixed seed scaled onto the span: no division (a `%` showed in the profile).
  return STAMP_BYTES + WORD_BYTES + Math.floor(((Math.imul(seed, GOLDEN) >>> 16) * span) / 65536);
}

/**
 * Hash of bytes [0, CHECKSUM_OFFSET) and [STAMP_BYTES, end) of `b`, bound to its length: `full`,
 * and `stamp` when the filler is too short to sample (with SAMPLED_SEED).
 */
function checksumAll(b: Uint8Array, off: number, end: number, seed: number): number {
  let h = end ^ seed;
  for (let i = 0; i < CHECKSUM_OFFSET; i += 4) h = mixWord(h, readU32(b, off + i));
  let i = STAMP_BYTES;
  for (; i + 4 <= end; i += 4) h = mixWord(h, readU32(b, off + i));
  for (; i < end; i++) h = mixWord(h, b[off + i]!);
  return finalMix(h);
}

/** `stamp`: hash of bytes [0, CHECKSUM_OFFSET) and the three sampled words, bound to the length. */
function checksumSampled(b: Uint8Array, off: number, end: number, moving: number): number {
  let h = end ^ SAMPLED_SEED;
  for (let i = 0; i < CHECKSUM_OFFSET; i += 4) h = mixWord(h, readU32(b, off + i));
  h = mixWord(h, readU32(b, off + STAMP_BYTES));
  h = mixWord(h, readU32(b, off + moving));
  h = mixWord(h, readU32(b, off + end - WORD_BYTES));
  return finalMix(h);
}

/** The checksum a `stamp` frame of `end` bytes from (sender, sequence) must carry. */
function checksumOfSampled(b: Uint8Array, off: number, end: number, sender: number, sequence: number): number {
  if (end - STAMP_BYTES < SAMPLE_MIN_FILLER_BYTES) return checksumAll(b, off, end, SAMPLED_SEED);
  return checksumSampled(b, off, end, movingWordAt(fillerSeed(sender, sequence), end));
}

/**
 * Writes the stamp over `payload` (its length is the frame's size) and the filler after it.
 * @param payload the frame, at least STAMP_BYTES long
 * @param sender global sender id (u32)
 * @param sequence frame number of this sender (u32)
 * @param sentAt intended send time, ms on benchClock()
 * @param verify `full` (default): the whole filler is written and hashed; `stamp`: see the file comment
 * @param fillerKept `stamp` only: the buffer's filler bytes are already set (a buffer the engine
 *   reuses, zeroed when made): only the sampled words are written. Otherwise (a fresh
 *   allocUnsafe buffer) the rest is filled with a constant byte, so no stale memory is sent.
 */
export function writeStamp(payload: Uint8Array, sender: number, sequence: number, sentAt: number, verify: StampVerify = 'full', fillerKept = false): void {
  const end = payload.byteLength;
  writeU32(payload, SENDER_OFFSET, sender);
  writeU32(payload, SEQUENCE_OFFSET, sequence);
  f64[0] = sentAt;
  for (let i = 0; i < 8; i++) payload[SENT_AT_OFFSET + i] = f64Bytes[LITTLE_ENDIAN ? i : 7 - i]!;
  writeU32(payload, LENGTH_OFFSET, end);
  if (verify === 'stamp') writeSampled(payload, end, sender, sequence, fillerKept);
  else writeFull(payload, end, sender, sequence, CHECKSUM_SEED);
}

/** The filler and checksum of `full` (and of `stamp` below SAMPLE_MIN_FILLER_BYTES, under its seed). */
function writeFull(payload: Uint8Array, end: number, sender: number, sequence: number, seed: number): void {
  // The checksum is computed as the filler is made (one pass, not two); checksumAll() is the
  // same function over the bytes, which is what a receiver runs.
  let h = end ^ seed;
  for (let i = 0; i < CHECKSUM_OFFSET; i += 4) h = mixWord(h, readU32(payload, i));
  let x = fillerSeed(sender, sequence);
  let i = STAMP_BYTES;
  for (; i + 4 <= end; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    writeU32(payload, i, x);
    h = mixWord(h, x);
  }
  for (; i < end; i++) {
    const b = (x = Math.imul(x, GOLDEN) + 1) >>> 24;
    payload[i] = b;
    h = mixWord(h, b);
  }
  writeU32(payload, CHECKSUM_OFFSET, finalMix(h));
}

/** The sampled words and checksum of `stamp`. */
function writeSampled(payload: Uint8Array, end: number, sender: number, sequence: number, fillerKept: boolean): void {
  if (end - STAMP_BYTES < SAMPLE_MIN_FILLER_BYTES) return writeFull(payload, end, sender, sequence, SAMPLED_SEED);
  if (!fillerKept) payload.fill(FILLER_BYTE, STAMP_BYTES);
  let x = fillerSeed(sender, sequence);
  const moving = movingWordAt(x, end);
  // movingWordAt keeps the three words apart, so each holds what was written.
  writeU32(payload, STAMP_BYTES, (x = xorshift(x)));
  writeU32(payload, moving, (x = xorshift(x)));
  writeU32(payload, end - WORD_BYTES, xorshift(x));
  writeU32(payload, CHECKSUM_OFFSET, checksumSampled(payload, 0, end, moving));
}

function xorshift(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  return x ^ (x << 5);
}

/**
 * Reads stamps without allocating: `read()` fills the fields of this one object, valid until the
 * next call. The payload may be a view anywhere in a driver's receive buffer (any alignment).
 */
export class StampReader {
  sender = 0;
  sequence = 0;
  /** Intended send time, ms on benchClock(). */
  sentAt = 0;

  /** @param verify what the writer's checksum covers (the run's BenchOptions.verify) */
  constructor(private readonly verify: StampVerify = 'full') {}

  /**
   * @param bytes the payload, or a buffer holding it at `offset` (no view needed)
   * @param offset where the payload starts in `bytes` (default 0)
   * @param length the payload's length (default: the rest of `bytes`)
   * @returns true when the payload is a whole, unaltered stamped frame (length and checksum
   *   verify); false for anything else (the fields are then meaningless)
   */
  read(bytes: Uint8Array, offset = 0, length = bytes.byteLength - offset): boolean {
    const end = length;
    const off = offset;
    if (end < STAMP_BYTES || off < 0 || off + end > bytes.byteLength) return false;
    if (readU32(bytes, off + LENGTH_OFFSET) !== end) return false;
    const sender = readU32(bytes, off + SENDER_OFFSET);
    const sequence = readU32(bytes, off + SEQUENCE_OFFSET);
    const sum = this.verify === 'full' ? checksumAll(bytes, off, end, CHECKSUM_SEED) : checksumOfSampled(bytes, off, end, sender, sequence);
    if (readU32(bytes, off + CHECKSUM_OFFSET) !== sum) return false;
    this.sender = sender;
    this.sequence = sequence;
    for (let i = 0; i < 8; i++) f64Bytes[LITTLE_ENDIAN ? i : 7 - i] = bytes[off + SENT_AT_OFFSET + i]!;
    this.sentAt = f64[0]!;
    return true;
  }
}

