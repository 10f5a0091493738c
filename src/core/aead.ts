/**
 * Aead, the TypeScript twin of `native/aead.{h,cc}`: AES-128/256-GCM in one direction with an
 * implicit counter nonce, on `node:crypto` (one cipher object per packet; the addon reuses one
 * OpenSSL context and is 11-18x faster per packet, DESIGN.md). Same checks in the same order
 * and the same results, byte for byte, as the native core.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { ErrorCode } from './errors.js';
import { AEAD_MAX_COUNTER, AEAD_NONCE_BYTES, AEAD_NONCE_PREFIX_BYTES, AEAD_TAG_BYTES } from './limits.js';
import { AEAD_JOB_STRIDE, type Aead } from './types.js';
import { checkAeadBatch, checkAeadKey, checkAeadOne, checkSpan } from './validate.js';

const TWO_POW_32 = 2 ** 32;
/** A sealed job's length (input + tag) must fit the Int32 result slot, as in the native core. */
const MAX_SEAL_JOB_BYTES = 2 ** 31 - 1 - AEAD_TAG_BYTES;

/**
 * AES-GCM sealing or opening one direction of a connection. nonce = `noncePrefix` (4 bytes) ||
 * counter (u64 big-endian); each successful seal/open uses the counter, then increments it, so
 * a replayed, reordered or dropped packet fails. Sealed output = ciphertext || 16-byte tag, no AAD.
 *
 * Input and output spans may be the same memory or disjoint, not partly overlapping.
 *
 * @example
 * const tx = new AeadJs(key, prefix), rx = new AeadJs(key, prefix);
 * const n = tx.seal(msg, 0, msg.length, wire, 0);      // msg.length + 16
 * const m = rx.open(wire, 0, n, plain, 0);             // msg.length, or -ErrorCode.AuthFailed
 */
export class AeadJs implements Aead {
  readonly keyBytes: number;
  private readonly key: KeyObject;
  private readonly algorithm: 'aes-128-gcm' | 'aes-256-gcm';
  /** Reused per packet; createCipheriv copies it. */
  private readonly nonce: Buffer;
  private next: number;

  /**
   * @param key 16 bytes (AES-128) or 32 bytes (AES-256); copied.
   * @param noncePrefix `AEAD_NONCE_PREFIX_BYTES` (4) bytes, distinct per direction and
   *   connection (wire derives them with the session keys); copied.
   * @param startCounter the first counter (default 0), an integer in [0, `AEAD_MAX_COUNTER`];
   *   tests use it to reach exhaustion.
   * @throws TypeError when key or noncePrefix is not a Uint8Array; RangeError on a wrong length
   *   or startCounter.
   */
  constructor(key: Uint8Array, noncePrefix: Uint8Array, startCounter = 0) {
    checkAeadKey(key, noncePrefix, startCounter);
    this.keyBytes = key.length;
    this.key = createSecretKey(Buffer.from(key));
    this.algorithm = key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
    this.nonce = Buffer.alloc(AEAD_NONCE_BYTES);
    this.nonce.set(noncePrefix, 0);
    this.next = startCounter;
  }

  /** The counter the next seal/open uses. */
  get counter(): number {
    return this.next;
  }

  /**
   * Encrypt `input[inOffset, +inLength)` into `output` at `outOffset` (ciphertext then tag).
   * @returns `inLength + 16`, or `-ErrorCode.CounterExhausted` (nothing written).
   * @throws RangeError when a span lies outside its buffer (output needs inLength + 16 bytes).
   */
  seal(input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number): number {
    checkAeadOne(input, inOffset, inLength, output, outOffset, true);
    return this.sealChecked(input, inOffset, inLength, output, outOffset);
  }

  /**
   * Verify and decrypt `input[inOffset, +inLength)` (ciphertext then tag) into `output`.
   * @returns `inLength - 16` plaintext bytes; `-ErrorCode.AuthFailed` on a wrong tag or an input
   *   shorter than the tag (the output region is then zeroed: no unverified plaintext);
   *   `-ErrorCode.CounterExhausted`. The counter advances only on success.
   * @throws RangeError when a span lies outside its buffer (output needs inLength - 16 bytes).
   */
  open(input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number): number {
    checkAeadOne(input, inOffset, inLength, output, outOffset, false);
    return this.openChecked(input, inOffset, inLength, output, outOffset);
  }

  /**
   * Seal `count` jobs `[inOffset, inLength, outOffset, result]` in order; each result is the
   * bytes written or a negative ErrorCode. A failure (counter exhausted) stops the batch;
   * later results are left as they were.
   * @returns the number of jobs sealed.
   * @throws RangeError, before any job runs, when `count` exceeds `jobs` or a job's span lies
   *   outside its buffer.
   */
  sealBatch(input: Uint8Array, output: Uint8Array, jobs: Int32Array, count: number): number {
    this.checkBatch(input, output, jobs, count, true);
    for (let i = 0; i < count; i++) {
      const j = i * AEAD_JOB_STRIDE;
      const r = this.sealChecked(input, jobs[j]!, jobs[j + 1]!, output, jobs[j + 2]!);
      jobs[j + 3] = r;
      if (r < 0) return i;
    }
    return count;
  }

  /**
   * Open `count` jobs in order, stopping at the first failure (its result is
   * `-ErrorCode.AuthFailed` or `-ErrorCode.CounterExhausted`; later results are left as they were).
   * @returns the number of jobs opened.
   * @throws RangeError, before any job runs, when `count` exceeds `jobs` or a job's span lies
   *   outside its buffer.
   */
  openBatch(input: Uint8Array, output: Uint8Array, jobs: Int32Array, count: number): number {
    this.checkBatch(input, output, jobs, count, false);
    for (let i = 0; i < count; i++) {
      const j = i * AEAD_JOB_STRIDE;
      const r = this.openChecked(input, jobs[j]!, jobs[j + 1]!, output, jobs[j + 2]!);
      jobs[j + 3] = r;
      if (r < 0) return i;
    }
    return count;
  }

  private checkBatch(input: Uint8Array, output: Uint8Array, jobs: Int32Array, count: number, sealing: boolean): void {
    checkAeadBatch(input, output, jobs, count);
    for (let i = 0; i < count; i++) {
      const j = i * AEAD_JOB_STRIDE;
      const inLength = jobs[j + 1]!;
      checkSpan(`job ${i} input`, input, jobs[j]!, inLength);
      if (sealing && inLength > MAX_SEAL_JOB_BYTES) {
        throw new RangeError(`job ${i} input length must be at most ${MAX_SEAL_JOB_BYTES}, got ${inLength}`);
      }
      const outLength = sealing ? inLength + AEAD_TAG_BYTES : Math.max(0, inLength - AEAD_TAG_BYTES);
      checkSpan(`job ${i} output`, output, jobs[j + 2]!, outLength);
    }
  }

  private writeNonce(): void {
    const c = this.next;
    this.nonce.writeUInt32BE(Math.floor(c / TWO_POW_32), AEAD_NONCE_PREFIX_BYTES);
    this.nonce.writeUInt32BE(c % TWO_POW_32, AEAD_NONCE_PREFIX_BYTES + 4);
  }

  private sealChecked(input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number): number {
    if (this.next >= AEAD_MAX_COUNTER) return -ErrorCode.CounterExhausted;
    this.writeNonce();
    const cipher = createCipheriv(this.algorithm, this.key, this.nonce, { authTagLength: AEAD_TAG_BYTES });
    // update() returns a fresh buffer, so an in-place seal (input === output) is safe.
    const body = cipher.update(input.subarray(inOffset, inOffset + inLength));
    const rest = cipher.final();
    output.set(body, outOffset);
    if (rest.length !== 0) output.set(rest, outOffset + body.length);
    output.set(cipher.getAuthTag(), outOffset + inLength);
    this.next++;
    return inLength + AEAD_TAG_BYTES;
  }

  private openChecked(input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number): number {
    if (this.next >= AEAD_MAX_COUNTER) return -ErrorCode.CounterExhausted;
    if (inLength < AEAD_TAG_BYTES) return -ErrorCode.AuthFailed;
    const plainLength = inLength - AEAD_TAG_BYTES;
    this.writeNonce();
    const decipher = createDecipheriv(this.algorithm, this.key, this.nonce, { authTagLength: AEAD_TAG_BYTES });
    decipher.setAuthTag(input.subarray(inOffset + plainLength, inOffset + inLength));
    const body = decipher.update(input.subarray(inOffset, inOffset + plainLength));
    try {
      decipher.final();
    } catch {
      // The native core has already written unverified plaintext and zeroes it; zero here too,
      // so both twins leave the same bytes and a forgery never yields plaintext.
      output.fill(0, outOffset, outOffset + plainLength);
      return -ErrorCode.AuthFailed;
    }
    output.set(body, outOffset);
    this.next++;
    return plainLength;
  }
}
