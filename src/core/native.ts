// STUB until native/addon.cc lands: the wrappers over the addon. Never constructed while
// `addon` is null, which it is until binding.gyp exists.
import type { Aead, ChunkAssembler, EventRing, FrameDecoder, JointParser } from './types.js';

function missing(name: string): never {
  throw new Error(`${name}: the gamewire addon wrappers are not built yet`);
}
export const JointParserNative = function () { missing('JointParserNative'); } as unknown as new (o: unknown) => JointParser;
export const FrameDecoderNative = function () { missing('FrameDecoderNative'); } as unknown as new (o?: unknown) => FrameDecoder;
export const ChunkAssemblerNative = function () { missing('ChunkAssemblerNative'); } as unknown as new (o?: unknown) => ChunkAssembler;
export const AeadNative = function () { missing('AeadNative'); } as unknown as new (k: Uint8Array, p: Uint8Array) => Aead;
export const EventRingNative = function () { missing('EventRingNative'); } as unknown as new (o?: unknown) => EventRing;
