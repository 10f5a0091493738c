import { encodeVarint, varintLength } from '../codec/varint.js';
import { checkPayload, describeType } from '../core/validate.js';
import { BYTES_MAX_LENGTH, BYTES_OUTPUT_INITIAL_BYTES, BYTES_VARINT_WIDTH } from './limits.js';

const utf8 = new TextEncoder();

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}: ${value} is not an integer in ${min}..${max}`);
  }
}

/**
 * Writes values in peote-net's byte encodings (joint.md §11): little-endian by default,
 * strings and bytes with a varint length (N = 4). Out-of-range integers are rejected with a
 * RangeError (the rule joint.md §11 asks us to document), never wrapped silently.
 *
 * ```ts
 * const out = new PeoteBytesOutput();
 * out.writeString('héllo'); out.writeInt32(-1);
 * client.sendChunk(out.getBytes());
 * ```
 */
export class PeoteBytesOutput {
  /** True when multi-byte values are written little-endian (the default). */
  readonly littleEndian: boolean;
  private buffer: Uint8Array;
  private view: DataView;
  private position = 0;

  /**
   * @param options.bigEndian write multi-byte values big-endian (both ends must agree; default false)
   * @param options.initialBytes starting capacity (default 256); grows by doubling
   */
  constructor(options: { bigEndian?: boolean; initialBytes?: number } = {}) {
    this.littleEndian = !options.bigEndian;
    this.buffer = new Uint8Array(options.initialBytes ?? BYTES_OUTPUT_INITIAL_BYTES);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.position;
  }

  /** The bytes written so far (a copy). */
  getBytes(): Uint8Array {
    return this.buffer.slice(0, this.position);
  }

  /** Forget what was written, keeping the capacity. */
  reset(): void {
    this.position = 0;
  }

  writeByte(value: number): void {
    checkRange('writeByte', value, 0, 0xff);
    this.reserve(1)[this.position++] = value;
  }

  /** 1 for true, 0 for false. */
  writeBool(value: boolean): void {
    this.reserve(1)[this.position++] = value ? 1 : 0;
  }

  writeInt8(value: number): void {
    checkRange('writeInt8', value, -0x80, 0x7f);
    this.reserve(1);
    this.view.setInt8(this.position++, value);
  }

  writeInt16(value: number): void {
    checkRange('writeInt16', value, -0x8000, 0x7fff);
    this.reserve(2);
    this.view.setInt16(this.position, value, this.littleEndian);
    this.position += 2;
  }

  writeUInt16(value: number): void {
    checkRange('writeUInt16', value, 0, 0xffff);
    this.reserve(2);
    this.view.setUint16(this.position, value, this.littleEndian);
    this.position += 2;
  }

  writeInt24(value: number): void {
    checkRange('writeInt24', value, -0x800000, 0x7fffff);
    this.writeUInt24Unchecked(value & 0xffffff);
  }

  writeUInt24(value: number): void {
    checkRange('writeUInt24', value, 0, 0xffffff);
    this.writeUInt24Unchecked(value);
  }

  writeInt32(value: number): void {
    checkRange('writeInt32', value, -0x80000000, 0x7fffffff);
    this.reserve(4);
    this.view.setInt32(this.position, value, this.littleEndian);
    this.position += 4;
  }

  /** IEEE-754 binary32. */
  writeFloat(value: number): void {
    this.reserve(4);
    this.view.setFloat32(this.position, value, this.littleEndian);
    this.position += 4;
  }

  /** IEEE-754 binary64. */
  writeDouble(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.position, value, this.littleEndian);
    this.position += 8;
  }

  /**
   * varint(UTF-8 byte length), then the UTF-8 bytes: `"héllo"` → `06 68 C3 A9 6C 6C 6F`.
   * @throws TypeError when `value` is not a string
   */
  writeString(value: string): void {
    if (typeof value !== 'string') throw new TypeError(`writeString: value must be a string, got ${describeType(value)}`);
    const bytes = utf8.encode(value);
    this.writeVarint('writeString', bytes.length);
    this.writeRaw(bytes);
  }

  /**
   * varint(length), then the bytes.
   * @throws TypeError when `value` is not a Uint8Array (a string would write zeros)
   */
  writeBytes(value: Uint8Array): void {
    checkPayload('writeBytes: value', value);
    this.writeVarint('writeBytes', value.length);
    this.writeRaw(value);
  }

  /** varint(n itself), N = 4 (joint.md §11 ChunkSize; not n - 1). */
  writeChunkSize(n: number): void {
    this.writeVarint('writeChunkSize', n);
  }

  /** Raw bytes with no length. */
  writeRaw(bytes: Uint8Array): void {
    this.reserve(bytes.length).set(bytes, this.position);
    this.position += bytes.length;
  }

  private writeVarint(name: string, value: number): void {
    checkRange(name, value, 0, BYTES_MAX_LENGTH);
    const out = this.reserve(varintLength(value, BYTES_VARINT_WIDTH));
    this.position += encodeVarint(value, BYTES_VARINT_WIDTH, out, this.position);
  }

  private writeUInt24Unchecked(value: number): void {
    const out = this.reserve(3);
    if (this.littleEndian) {
      out[this.position] = value & 0xff;
      out[this.position + 1] = (value >>> 8) & 0xff;
      out[this.position + 2] = value >>> 16;
    } else {
      out[this.position] = value >>> 16;
      out[this.position + 1] = (value >>> 8) & 0xff;
      out[this.position + 2] = value & 0xff;
    }
    this.position += 3;
  }

  /** Make room for `bytes` more; returns the (possibly new) buffer. */
  private reserve(bytes: number): Uint8Array {
    const need = this.position + bytes;
    if (need > this.buffer.length) {
      let size = Math.max(this.buffer.length * 2, 16);
      while (size < need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.buffer.subarray(0, this.position));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    return this.buffer;
  }
}
