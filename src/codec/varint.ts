/**
 * The joint.md §10.1 varints, as codec's public face. They are defined in `src/core/varint.ts`
 * (the twin of `native/varint.h`), because core's chunk assembler needs them and core imports
 * nothing else of ours: codec imports core, never the reverse (DESIGN.md "Rules of the house").
 */
export {
  VARINT_MIN_BYTES,
  VARINT_MAX_BYTES,
  VARINT_NEED_MORE,
  type VarintValue,
  varintMax,
  varintLength,
  encodeVarint,
  decodeVarint,
  chunkPrefixBytesFor,
  encodeChunkPrefix,
} from '../core/varint.js';
