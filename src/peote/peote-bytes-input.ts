import { readVarintStrict } from './varint-reader.js';
import { PeoteBytesError } from './bytes-error.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Reads peote-net's byte encodings (joint.md §11) from one chunk. Little-endian by default.
 * A read past the end, or a non-minimal varint, throws a PeoteBytesError: these bytes come
 * from the network, so catch it (the RPC layer turns it into Reason.MALICIOUS).
 *
 * ```ts
 * onDataChunk: (userNr, bytes) => { const input = new PeoteBytesInput(bytes); input.readString(); }
 * ```
 */
export class PeoteBytesInput {
  readonly littleEndian: boolean;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private position: number;
  private readonly end: number;

  /**
   * @param bytes the chunk; not copied, so keep it unchanged while reading
   * @param options.bigEndian read multi-byte values big-endian (default false)
   */
  constructor(bytes: Uint8Array, options: { bigEndian?: boolean } = {}) {
    this.littleEndian = !options.bigEndian;
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.position = 0;
    this.end = bytes.length;
  }

  /** Bytes not yet read. */
  get bytesLeft(): number {
    return this.end - this.position;
  }

  /** Bytes read so far. */
  get offset(): number {
    return this.position;
  }

  readByte(): number {
    return this.bytes[this.take(1)]!;
  }

  /** Any non-zero byte is true (joint.md §11). */
  readBool(): boolean {
    return this.bytes[this.take(1)] !== 0;
  }

  readInt8(): number {
    return this.view.getInt8(this.take(1));
  }

  readInt16(): number {
    return this.view.getInt16(this.take(2), this.littleEndian);
  }

  readUInt16(): number {
    return this.view.getUint16(this.take(2), this.littleEndian);
  }

  readInt24(): number {
    const value = this.readUInt24();
    return value & 0x800000 ? value - 0x1000000 : value;
  }

  readUInt24(): number {
    const at = this.take(3);
    const b = this.bytes;
    return this.littleEndian
      ? b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)
      : (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
  }

  readInt32(): number {
    return this.view.getInt32(this.take(4), this.littleEndian);
  }

  readFloat(): number {
    return this.view.getFloat32(this.take(4), this.littleEndian);
  }

  readDouble(): number {
    return this.view.getFloat64(this.take(8), this.littleEndian);
  }

  /** varint(UTF-8 length) + UTF-8. */
  readString(): string {
    const length = this.readLength();
    const at = this.take(length);
    return utf8.decode(this.bytes.subarray(at, at + length));
  }

  /** varint(length) + bytes (a copy). */
  readBytes(): Uint8Array {
    const length = this.readLength();
    const at = this.take(length);
    return this.bytes.slice(at, at + length);
  }

  /** varint(n), N = 4. */
  readChunkSize(): number {
    return this.readLength();
  }

  /** A varint length or count (N = 4); throws if it is not minimal or runs past the end. */
  readLength(): number {
    const [value, used] = readVarintStrict(this.bytes, this.position, this.end);
    this.position += used;
    return value;
  }

  /** Skip `n` bytes and return the offset they started at; throws when fewer are left. */
  private take(n: number): number {
    const at = this.position;
    if (n > this.end - at) {
      throw new PeoteBytesError('GW_ERR_BYTES_UNDERFLOW', `read of ${n} bytes at offset ${at} past the end (${this.end})`);
    }
    this.position = at + n;
    return at;
  }
}
