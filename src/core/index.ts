/**
 * gamewire/core: the hot-path components and the factories that pick an implementation.
 */
import { addon, implementationOf } from './load.js';
import { JointParserJs } from './joint-parser.js';
import { FrameDecoderJs } from './frame-decoder.js';
import { ChunkAssemblerJs } from './chunk-assembler.js';
import { AeadJs } from './aead.js';
import { EventRingJs } from './event-ring.js';
import {
  JointParserNative,
  FrameDecoderNative,
  ChunkAssemblerNative,
  AeadNative,
  EventRingNative,
} from './native.js';
import type {
  Aead,
  ChunkAssembler,
  ChunkAssemblerOptions,
  EventRing,
  EventRingOptions,
  FrameDecoder,
  FrameDecoderOptions,
  Implementation,
  JointParser,
  JointParserOptions,
} from './types.js';

export * from './types.js';
export * from './errors.js';
export * from './limits.js';
export { implementation, implementationOf, addonLoadError, PREFERRED } from './load.js';
export type { Component } from './load.js';
export * from './relay-engine-binding.js';
export { JointParserJs, FrameDecoderJs, ChunkAssemblerJs, AeadJs, EventRingJs };
export { JointParserNative, FrameDecoderNative, ChunkAssemblerNative, AeadNative, EventRingNative };

/** Constructors of the five components for one implementation. */
export interface CoreFactories {
  readonly name: Implementation;
  jointParser(options: JointParserOptions): JointParser;
  frameDecoder(options?: FrameDecoderOptions): FrameDecoder;
  chunkAssembler(options?: ChunkAssemblerOptions): ChunkAssembler;
  aead(key: Uint8Array, noncePrefix: Uint8Array): Aead;
  eventRing(options?: EventRingOptions): EventRing;
}

/** The TypeScript implementations; always available. */
export const fallbackFactories: CoreFactories = {
  name: 'fallback',
  jointParser: (o) => new JointParserJs(o),
  frameDecoder: (o) => new FrameDecoderJs(o),
  chunkAssembler: (o) => new ChunkAssemblerJs(o),
  aead: (k, p) => new AeadJs(k, p),
  eventRing: (o) => new EventRingJs(o),
};

/** The addon's implementations, or null when the addon is not loaded. */
export const nativeFactories: CoreFactories | null =
  addon === null
    ? null
    : {
        name: 'native',
        jointParser: (o) => new JointParserNative(o),
        frameDecoder: (o) => new FrameDecoderNative(o),
        chunkAssembler: (o) => new ChunkAssemblerNative(o),
        aead: (k, p) => new AeadNative(k, p),
        eventRing: (o) => new EventRingNative(o),
      };

function pick(component: Parameters<typeof implementationOf>[0]): CoreFactories {
  return implementationOf(component) === 'native' && nativeFactories !== null ? nativeFactories : fallbackFactories;
}

/** A JointParser on the implementation the loader chose. */
export function createJointParser(options: JointParserOptions): JointParser {
  return pick('jointParser').jointParser(options);
}
/** A FrameDecoder on the implementation the loader chose. */
export function createFrameDecoder(options?: FrameDecoderOptions): FrameDecoder {
  return pick('frameDecoder').frameDecoder(options);
}
/** A ChunkAssembler on the implementation the loader chose. */
export function createChunkAssembler(options?: ChunkAssemblerOptions): ChunkAssembler {
  return pick('chunkAssembler').chunkAssembler(options);
}
/** An Aead on the implementation the loader chose. */
export function createAead(key: Uint8Array, noncePrefix: Uint8Array): Aead {
  return pick('aead').aead(key, noncePrefix);
}
/** An EventRing on the implementation the loader chose. */
export function createEventRing(options?: EventRingOptions): EventRing {
  return pick('eventRing').eventRing(options);
}
