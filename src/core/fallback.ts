/**
 * The TypeScript twins of the four components a browser uses, as explicit choices. A browser
 * has no addon and no loader (load.ts is Node-only), so src/platform/web.ts takes its parsers
 * and ring from here: the one place outside load.ts that names an implementation, and it names
 * the only one a browser has. The Aead is absent: browsers seal with WebCrypto, and the
 * TypeScript Aead is node:crypto. Browser-safe.
 */
import { JointParserJs } from './joint-parser.js';
import { FrameDecoderJs } from './frame-decoder.js';
import { ChunkAssemblerJs } from './chunk-assembler.js';
import { EventRingJs } from './event-ring.js';
import type {
  ChunkAssembler,
  ChunkAssemblerOptions,
  EventRing,
  EventRingOptions,
  FrameDecoder,
  FrameDecoderOptions,
  JointParser,
  JointParserOptions,
} from './types.js';

/** A JointParser on the TypeScript implementation (browsers). */
export function createJointParserJs(options: JointParserOptions): JointParser {
  return new JointParserJs(options);
}
/** A FrameDecoder on the TypeScript implementation (browsers). */
export function createFrameDecoderJs(options?: FrameDecoderOptions): FrameDecoder {
  return new FrameDecoderJs(options);
}
/** A ChunkAssembler on the TypeScript implementation (browsers). */
export function createChunkAssemblerJs(options?: ChunkAssemblerOptions): ChunkAssembler {
  return new ChunkAssemblerJs(options);
}
/** An EventRing on the TypeScript implementation (browsers). */
export function createEventRingJs(options?: EventRingOptions): EventRing {
  return new EventRingJs(options);
}
