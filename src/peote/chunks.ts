/**
 * The chunk layer of peote (joint.md §10): a chunk travels as the varint of its length − 1
 * (N bytes) and its payload. Sending builds prefix + payload as one send (joint.md §10.3 allows
 * coalescing); receiving reassembles per stream with the core ChunkAssembler.
 */
import { ErrorCode, errorReason } from '../core/errors.js';
import { MAX_CHUNK_BYTES_LIMIT } from '../core/limits.js';
import { checkPayload } from '../core/validate.js';
import { CHUNK_UNIT_STRIDE, UnitFlag, type ChunkAssembler } from '../core/types.js';
import { chunkPrefixBytesFor, encodeChunkPrefix, varintLength } from '../core/varint.js';
import type { JointClientPlatform } from '../joint/client-platform.js';
import { MAX_CHUNK_SIZE } from './limits.js';

/** Which kind of data an endpoint hands to the application (joint.md §10.3). */
export type PeoteMode = 'raw' | 'chunk' | 'rpc';

/**
 * The mode the original picks: raw with `onData`, chunks with `onDataChunk`, RPC with neither.
 * @throws TypeError when both are given
 */
export function pickMode(options: { onData?: unknown; onDataChunk?: unknown }, who: string): PeoteMode {
  if (options.onData && options.onDataChunk) throw new TypeError(`${who}: give onData (raw) or onDataChunk (chunks), not both`);
  if (options.onData) return 'raw';
  if (options.onDataChunk) return 'chunk';
  return 'rpc';
}

/**
 * Check a maxChunkSize option (default 32768).
 * @throws RangeError outside 1..2^29
 */
export function checkMaxChunkSize(value: number | undefined): number {
  const size = value ?? MAX_CHUNK_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_CHUNK_BYTES_LIMIT) {
    throw new RangeError(`maxChunkSize must be an integer in 1..${MAX_CHUNK_BYTES_LIMIT}, got ${size}`);
  }
  return size;
}

/**
 * Prefix + payload of one chunk, in one new buffer.
 * @throws TypeError when `payload` is not a Uint8Array; RangeError for an empty chunk or one
 *   over `maxChunkSize` (joint.md §10.2)
 */
export function encodeChunk(payload: Uint8Array, maxChunkSize: number): Uint8Array {
  checkPayload('chunk', payload);
  if (payload.length < 1 || payload.length > maxChunkSize) {
    throw new RangeError(`a chunk must be 1..${maxChunkSize} bytes (maxChunkSize), got ${payload.length}`);
  }
  const n = chunkPrefixBytesFor(maxChunkSize);
  const out = new Uint8Array(varintLength(payload.length - 1, n) + payload.length);
  const p = encodeChunkPrefix(payload.length, n, out, 0);
  out.set(payload, p);
  return out;
}

/**
 * Reassembles chunks per stream (a user of a server, or the one joint of a client).
 * Whole chunks are handed out as copies the application may keep.
 */
export class ChunkReceiver {
  private readonly assembler: ChunkAssembler;
  private readonly failed: Uint8Array;

  /**
   * @param hooks the entry's hooks, whose chunk assembler this uses
   * @param maxChunkSize largest chunk accepted (bytes)
   * @param streams stream ids 0..streams-1
   */
  constructor(hooks: JointClientPlatform, maxChunkSize: number, streams: number) {
    this.assembler = hooks.chunkAssembler({ maxChunkBytes: maxChunkSize, prefixBytes: chunkPrefixBytesFor(maxChunkSize), maxStreams: streams });
    this.failed = new Uint8Array(streams);
  }

  /**
   * Feed stream bytes.
   * @returns the whole chunks completed (copies), and an error text the first time the stream
   *   breaks the chunk rules (later bytes of a failed stream are ignored until `reset`)
   */
  feed(stream: number, input: Uint8Array, offset: number, length: number): { chunks: Uint8Array[]; error: string | null } {
    const chunks: Uint8Array[] = [];
    if (this.failed[stream]) return { chunks, error: null };
    const a = this.assembler;
    let at = offset;
    let left = length;
    while (left > 0) {
      const count = a.feed(stream, input, at, left);
      const units = a.units;
      for (let i = 0; i < count; i++) {
        const u = i * CHUNK_UNIT_STRIDE;
        const src = (units[u]! & UnitFlag.InCarry) !== 0 ? a.carry() : input;
        const o = units[u + 1]!;
        chunks.push(src.slice(o, o + units[u + 2]!));
      }
      if (a.error !== ErrorCode.Ok) {
        this.failed[stream] = 1;
        return { chunks, error: errorReason(a.error) };
      }
      if (a.consumed === 0) break;
      at += a.consumed;
      left -= a.consumed;
    }
    return { chunks, error: null };
  }

  /** Forget a stream (its user left): its partial chunk and its error. */
  reset(stream: number): void {
    this.failed[stream] = 0;
    this.assembler.dropStream(stream);
  }
}
