/**
 * The relay's streaming hot path (src/relay/forwarding.ts), byte for byte: what users send to an owner must reach it as one
 * owner frame per parsed piece (`size, jOwn+128, userNr, data`, split at 32765), whatever the
 * reads look like. The oracle parses the same reads with its own JointParser and builds the
 * expected bytes piece by piece, so run batching and slab reuse must not change a byte.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { JOINT_UNIT_STRIDE, JointDirection, JointParserJs, JointUnitKind } from '../../src/core/index.js';
import { MAX_FRAME_DATA_BYTES } from '../../src/joint/limits.js';
import { writeOwnerFrameHeader } from '../../src/joint/protocol.js';
import { Relay, silentLogger } from '../../src/relay/index.js';
import type { ByteStream, StreamCloseInfo } from '../../src/transport/types.js';
import { Prng } from '../helpers/prng.js';

/** A stream that keeps what is written by reference and copies it at flush, as a kernel would. */
class SinkStream implements ByteStream {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 1;
  readonly open = true;
  onData: (data: Uint8Array) => void = () => {};
  onClose: (info: StreamCloseInfo) => void = () => {};
  /** One entry per write, copied at flush. */
  readonly messages: Buffer[] = [];
  private queued: Uint8Array[] = [];

  constructor(readonly kind: 'tcp' | 'websocket') {}

  get bufferedBytes(): number {
    return 0;
  }
  write(data: Uint8Array): void {
    this.queued.push(data.slice());
  }
  writeOwned(data: Uint8Array): void {
    this.queued.push(data);
  }
  flush(): void {
    for (const q of this.queued) this.messages.push(Buffer.from(q));
    this.queued = [];
  }
  end(): void {}
  destroy(): void {}
  bytes(): Buffer {
    return Buffer.concat(this.messages);
  }
}

const SIZES = [1, 2, 61, 64, 124, 125, 126, 127, 128, 1000, 1024, 4094, 4095, 4096, 5000, 32765, 32766];

function userFrame(jIn: number, data: Buffer): Buffer {
  const size = data.length + 1;
  const head = size < 128 ? [size, jIn] : [(size >> 8) + 0x80, size & 0xff, jIn];
  return Buffer.concat([Buffer.from(head), data]);
}

let relay: Relay | null = null;
afterEach(async () => {
  await relay?.close();
  relay = null;
});

/** What the owner must receive for `reads` from a user with userNr `userNr` in joint jOwn 0. */
function expectedOwnerMessages(reads: Buffer[], userNr: number): Buffer[] {
  const parser = new JointParserJs({ direction: JointDirection.ToRelay, maxUnits: 256 });
  const out: Buffer[] = [];
  for (const read of reads) {
    let offset = 0;
    while (offset < read.length) {
      const n = parser.feed(read, offset, read.length - offset);
      for (let i = 0; i < n * JOINT_UNIT_STRIDE; i += JOINT_UNIT_STRIDE) {
        const u = parser.units;
        if (u[i] !== JointUnitKind.Data || u[i + 2] !== 0) continue;
        let at = u[i + 4]!;
        let left = u[i + 5]!;
        while (left > 0) {
          const take = Math.min(left, MAX_FRAME_DATA_BYTES);
          const frame = Buffer.alloc(4 + take);
          const h = writeOwnerFrameHeader(frame, 0, 0, userNr, take);
          read.copy(frame, h, at, at + take);
          out.push(frame.subarray(0, h + take));
          at += take;
          left -= take;
        }
      }
      expect(parser.error).toBe(0);
      offset += parser.consumed;
    }
  }
  return out;
}

async function setUp(ownerKind: 'tcp' | 'websocket') {
  // The Node engine's read loop, fed by fake streams.
  relay = await Relay.listen({ port: 0, logger: silentLogger, keepaliveMs: 0, engine: 'node' });
  const accept = (relay as unknown as { accept(s: ByteStream): void }).accept.bind(relay);
  const owner = new SinkStream(ownerKind);
  accept(owner);
  owner.onData(Buffer.from('0000010162', 'hex'));
  const users = [new SinkStream('tcp'), new SinkStream('tcp')];
  for (const u of users) {
    accept(u);
    u.onData(Buffer.from('0001010162', 'hex'));
  }
  owner.messages.length = 0;
  return { owner, users };
}

describe('user → owner streaming path', () => {
  for (const ownerKind of ['tcp', 'websocket'] as const) {
    it(`writes one owner frame per piece, byte for byte, over random reads (${ownerKind} owner)`, async () => {
      const { owner, users } = await setUp(ownerKind);
      const rand = new Prng(ownerKind === 'tcp' ? 7 : 11);
      const expected: Buffer[] = [];
      for (let round = 0; round < 60; round++) {
        const u = rand.int(users.length);
        // A burst of frames, mostly to jIn 0, sometimes to jIn 5 (not entered: dropped).
        const frames: Buffer[] = [];
        const count = 1 + rand.int(40);
        for (let f = 0; f < count; f++) {
          const size = SIZES[Math.floor(rand.next() * (rand.chance(0.8) ? 10 : SIZES.length))]!;
          const data = Buffer.alloc(size);
          for (let k = 0; k < size; k++) data[k] = (round * 31 + f * 7 + k) & 0xff;
          frames.push(userFrame(rand.chance(0.95) ? 0 : 5, data));
        }
        const stream = Buffer.concat(frames);
        // Cut into reads of random sizes (often inside headers and data).
        const reads: Buffer[] = [];
        for (let at = 0; at < stream.length; ) {
          const n = Math.min(stream.length - at, 1 + Math.floor(rand.next() * (rand.chance(0.5) ? 300 : 70_000)));
          reads.push(Buffer.from(stream.subarray(at, at + n)));
          at += n;
        }
        expected.push(...expectedOwnerMessages(reads, u));
        for (const r of reads) users[u]!.onData(r);
      }
      if (ownerKind === 'tcp') expect(owner.bytes().equals(Buffer.concat(expected))).toBe(true);
      else {
        expect(owner.messages.length).toBe(expected.length);
        for (let i = 0; i < expected.length; i++) expect(owner.messages[i]!.equals(expected[i]!)).toBe(true);
      }
    });
  }
});
