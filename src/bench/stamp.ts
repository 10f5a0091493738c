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
 *  20 u32 checksum   over bytes 0-19 and the filler
 *
 * The filler is derived from (sender, sequence), and the checksum covers it, so a target that
 * hands back another frame's body under this header, truncates, pads or flips a bit is caught.
 * The checksum guards against accidents, not an adversary: the target is the thing measured.
 */

/** Bytes of the stamp at the start of every payload: the smallest `size` a run accepts. */
export const STAMP_BYTES = 24;

const SENDER_OFFSET = 0;
const SEQUENCE_OFFSET = 4;
const SENT_AT_OFFSET = 8;
const LENGTH_OFFSET = 16;
const CHECKSUM_OFFSET = 20;

// Odd constants of the golden ratio and murmur's finaliser: good avalanche, cheap Math.imul.
const GOLDEN = 0x9e3779b1;
const MIX_A = 0x85ebca6b;
const MIX_B = 0xc2b2ae35;

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

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

function mixWord(h: number, w: number): number {
  h = Math.imul(h ^ w, GOLDEN);
  return h ^ (h >>> 15);
}

const CHECKSUM_SEED = 0x2545f491;

function finalMix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), MIX_A);
  h = Math.imul(h ^ (h >>> 13), MIX_B);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hash of bytes [0, CHECKSUM_OFFSET) and [STAMP_BYTES, end) of `b`, bound to its length. */
function checksum(b: Uint8Array): number {
  const end = b.byteLength;
  let h = end ^ CHECKSUM_SEED;
  for (let i = 0; i < CHECKSUM_OFFSET; i += 4) h = mixWord(h, readU32(b, i));
  let i = STAMP_BYTES;
  for (; i + 4 <= end; i += 4) h = mixWord(h, readU32(b, i));
  for (; i < end; i++) h = mixWord(h, b[i]!);
  return finalMix(h);
}

/**
 * Writes the stamp and filler over all of `payload` (its length is the frame's size).
 * @param payload the frame, at least STAMP_BYTES long; overwritten entirely
 * @param sender global sender id (u32)
 * @param sequence frame number of this sender (u32)
 * @param sentAt intended send time, ms on benchClock()
 */
export function writeStamp(payload: Uint8Array, sender: number, sequence: number, sentAt: number): void {
  const end = payload.byteLength;
  writeU32(payload, SENDER_OFFSET, sender);
  writeU32(payload, SEQUENCE_OFFSET, sequence);
  f64[0] = sentAt;
  for (let i = 0; i < 8; i++) payload[SENT_AT_OFFSET + i] = f64Bytes[LITTLE_ENDIAN ? i : 7 - i]!;
  writeU32(payload, LENGTH_OFFSET, end);
  // The checksum is computed as the filler is made (one pass, not two); checksum() is the same
  // function over the bytes, which is what a receiver runs.
  let h = end ^ CHECKSUM_SEED;
  for (let i = 0; i < CHECKSUM_OFFSET; i += 4) h = mixWord(h, readU32(payload, i));
  // xorshift32 seeded by (sender, sequence): a body that belongs to this frame and no other.
  let x = (Math.imul(sender ^ 0x5bd1e995, GOLDEN) ^ Math.imul(sequence + 1, MIX_A)) | 0 || 1;
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

/**
 * Reads stamps without allocating: `read()` fills the fields of this one object, valid until the
 * next call. The payload may be a view anywhere in a driver's receive buffer (any alignment).
 */
export class StampReader {
  sender = 0;
  sequence = 0;
  /** Intended send time, ms on benchClock(). */
  sentAt = 0;

  /**
   * @returns true when `payload` is a whole, unaltered stamped frame (length and checksum verify);
   *   false for anything else (the fields are then meaningless)
   */
  read(payload: Uint8Array): boolean {
    const end = payload.byteLength;
    if (end < STAMP_BYTES || readU32(payload, LENGTH_OFFSET) !== end) return false;
    if (readU32(payload, CHECKSUM_OFFSET) !== checksum(payload)) return false;
    this.sender = readU32(payload, SENDER_OFFSET);
    this.sequence = readU32(payload, SEQUENCE_OFFSET);
    for (let i = 0; i < 8; i++) f64Bytes[LITTLE_ENDIAN ? i : 7 - i] = payload[SENT_AT_OFFSET + i]!;
    this.sentAt = f64[0]!;
    return true;
  }
}
