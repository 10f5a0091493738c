/**
 * What the client side of the joint protocol needs from its platform: a way to open a byte
 * stream to `host:port`, and the two parsers. Node and browsers differ only here, so this file
 * imports nothing from Node: the Node entry (`gamewire/peote`) installs TCP and the addon-backed
 * parsers, the browser entry installs WebSocket and the TypeScript parsers.
 */
import type { ByteStream } from '../transport/types.js';
import type { ChunkAssembler, ChunkAssemblerOptions, JointParser, JointParserOptions } from '../core/types.js';
import { JointParserJs } from '../core/joint-parser.js';
import { ChunkAssemblerJs } from '../core/chunk-assembler.js';

/** Opens one connection to the relay at `host:port`; rejects when it cannot. */
export type JointConnector = (host: string, port: number) => Promise<ByteStream>;

/** The platform hooks of the joint client. */
export interface JointClientPlatform {
  /** Opens connections; null until an entry point installs one. */
  connect: JointConnector | null;
  /** Makes the parser of the relay → client stream. */
  jointParser(options: JointParserOptions): JointParser;
  /** Makes a chunk assembler (joint.md §10). */
  chunkAssembler(options: ChunkAssemblerOptions): ChunkAssembler;
}

/** The hooks in force. Defaults: no connector, the TypeScript parsers. */
export const jointClientPlatform: JointClientPlatform = {
  connect: null,
  jointParser: (options) => new JointParserJs(options),
  chunkAssembler: (options) => new ChunkAssemblerJs(options),
};

/**
 * Replace some of the platform hooks, e.g. `configureJointClient({ connect: myConnector })`
 * to reach the relay through a proxy or over WebSocket from Node.
 */
export function configureJointClient(hooks: Partial<JointClientPlatform>): void {
  if (hooks.connect !== undefined) jointClientPlatform.connect = hooks.connect;
  if (hooks.jointParser !== undefined) jointClientPlatform.jointParser = hooks.jointParser;
  if (hooks.chunkAssembler !== undefined) jointClientPlatform.chunkAssembler = hooks.chunkAssembler;
}
