import { describe, expect, it } from 'vitest';
import {
  checkAeadBatch,
  checkFeedSpan,
  checkJointFeed,
  checkRingBatch,
  checkSpan,
  checkStream,
  chunkAssemblerOptions,
  eventRingOptions,
  frameDecoderOptions,
  isInt32,
  jointParserOptions,
  MAX_STREAMS_LIMIT,
  MAX_UNITS_LIMIT,
} from '../../src/core/validate.js';
import { MAX_CHUNK_BYTES, MAX_FRAME_BYTES, MAX_STREAMS, MAX_UNITS_PER_FEED } from '../../src/core/limits.js';

// The checks the TypeScript twins and the native wrappers share (each suite of test/core runs
// them through both implementations); here, their defaults and edges directly.
describe('core argument checks', () => {
  it('apply the documented defaults', () => {
    expect(frameDecoderOptions({})).toEqual({ maxFrameBytes: MAX_FRAME_BYTES, maxUnits: MAX_UNITS_PER_FEED });
    expect(chunkAssemblerOptions({})).toEqual({
      maxChunkBytes: MAX_CHUNK_BYTES,
      prefixBytes: 2,
      maxStreams: MAX_STREAMS,
      maxUnits: MAX_UNITS_PER_FEED,
    });
    expect(jointParserOptions({ direction: 1 })).toEqual({ direction: 1, maxUnits: MAX_UNITS_PER_FEED });
    expect(eventRingOptions({ capacity: 3, arenaBytes: 0 })).toEqual({ capacity: 3, arenaBytes: 0 });
  });

  it('accept the ceilings and refuse one past them', () => {
    expect(() => frameDecoderOptions({ maxUnits: MAX_UNITS_LIMIT })).not.toThrow();
    expect(() => frameDecoderOptions({ maxUnits: MAX_UNITS_LIMIT + 1 })).toThrow(RangeError);
    expect(() => chunkAssemblerOptions({ maxStreams: MAX_STREAMS_LIMIT })).not.toThrow();
    expect(() => chunkAssemblerOptions({ maxStreams: MAX_STREAMS_LIMIT + 1 })).toThrow(RangeError);
    expect(() => jointParserOptions({ direction: 0, maxUnits: MAX_UNITS_LIMIT + 1 })).toThrow(
      `maxUnits must be an integer in 1..${MAX_UNITS_LIMIT}, got ${MAX_UNITS_LIMIT + 1}`,
    );
    // joint.md §10.1: a 1-byte prefix expresses lengths up to 256.
    expect(() => chunkAssemblerOptions({ maxChunkBytes: 256, prefixBytes: 1 })).not.toThrow();
    expect(() => chunkAssemblerOptions({ maxChunkBytes: 257, prefixBytes: 1 })).toThrow('maxChunkBytes must be an integer in 1..256, got 257');
  });

  it('check spans without overflow', () => {
    const buf = new Uint8Array(8);
    expect(() => checkSpan('x', buf, 8, 0)).not.toThrow();
    expect(() => checkSpan('x', buf, 1, 8)).toThrow('x span [1, 1 + 8) exceeds its buffer of 8 bytes');
    expect(() => checkSpan('x', buf, 2 ** 53, 0)).toThrow(RangeError);
    expect(() => checkFeedSpan(buf, 4, 5)).toThrow('offset 4 + length 5 must lie within input.length 8');
    expect(() => checkJointFeed(buf, 0, '1' as unknown as number)).toThrow(TypeError);
    expect(() => checkJointFeed(buf, 9, 0)).toThrow('offset must be an integer in 0..8, got 9');
    expect(() => checkStream(4, 4)).toThrow('stream must be an integer in 0..3, got 4');
  });

  it('check batches before any work', () => {
    expect(() => checkAeadBatch(new Uint8Array(1), new Uint8Array(1), new Int32Array(8), 3)).toThrow('count must be an integer in [0, 2], got 3');
    const meta = new Float64Array(10);
    meta[5] = 2 ** 31; // event 1's kind
    expect(() => checkRingBatch(meta, 2, new Uint8Array(0))).toThrow('event 1 kind must be an int32, got 2147483648');
    expect(isInt32(-(2 ** 31))).toBe(true);
    expect(isInt32(2 ** 31)).toBe(false);
  });
});
