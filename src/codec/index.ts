/** gamewire codecs: tables (MessagePack subset) and the joint.md §10 varints. */
export { TableCodec, MAX_TABLE_DEPTH, type Table, type TableValue, type TableCodecOptions } from './table.js';
export * from './varint.js';
