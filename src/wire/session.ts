/**
 * One end of a gamewire connection (docs/protocol.md): the handshake, session keys, frames,
 * chunked messages, keepalive and close, over any ByteStream. Knows nothing of tables or
 * events: its owner (mm's Server or Client) gets callbacks.
 *
 * Outbound bytes of a tick are coalesced: `queueMessage` appends to a per-session buffer and the
 * flush (one microtask later, or at `flush()`) frames everything, seals all frames in one
 * `sealBatch` call and does one stream write. Inbound, one read is split into frames by the
 * FrameDecoder, opened with one `openBatch` per read, and DATA payloads are reassembled into
 * messages by the ChunkAssembler.
 */
import { AEAD_TAG_BYTES, MAX_CHUNK_BYTES_LIMIT } from '../core/limits.js';
import { ErrorCode, errorReason } from '../core/errors.js';
import { AEAD_JOB_STRIDE, CHUNK_UNIT_STRIDE, FRAME_UNIT_STRIDE, UnitFlag, type Aead, type ChunkAssembler, type FrameDecoder } from '../core/types.js';
import { encodeChunkPrefix } from '../codec/varint.js';
import type { ByteStream } from '../transport/types.js';
import {
  CHUNK_PREFIX_BYTES,
  CLOSE_LINGER_MS,
  FLOOD_WINDOW_MS,
  HANDSHAKE_RANDOM_BYTES,
  HANDSHAKE_TIMEOUT_MS,
  INITIAL_BUFFER_BYTES,
  KEEP_BUFFER_BYTES,
  KEEPALIVE_INTERVAL_MS,
  KEEPALIVE_TIMEOUT_MS,
  MAX_CLOSE_REASON_BYTES,
  MAX_FRAME_BYTES,
  MAX_FRAME_BYTES_LIMIT,
  MAX_INBOUND_PER_SECOND,
  MAX_MESSAGE_BYTES,
  MAX_PENDING_DECRYPT_BYTES,
  MAX_SEND_BUFFER_BYTES,
  MAX_TIMER_MS,
  MIN_FRAME_BYTES,
  MIN_KEEPALIVE_TIMEOUT_MS,
  MIN_SEND_BUFFER_BYTES,
  MIN_TIMER_MS,
  WIRE_VERSION,
  WS_WRITE_PIECE_BYTES,
} from './limits.js';
import { isAsyncAead, type AsyncAead, type WirePlatform } from '../platform/types.js';
import {
  CloseCode,
  FINISHED_CLIENT,
  FINISHED_SERVER,
  FLAG_ENCRYPTED,
  FrameType,
  INFO_CLIENT_TO_SERVER,
  INFO_SERVER_TO_CLIENT,
  MAGIC,
} from './protocol.js';

/** Options of a Session; every limit defaults to its constant in `limits.ts`. */
export interface SessionOptions {
  /** Largest frame body (bytes), MIN_FRAME_BYTES..16 MiB (default `MAX_FRAME_BYTES`). */
  maxFrameBytes?: number;
  /** Largest message (bytes), 1..2^29 (default `MAX_MESSAGE_BYTES`). */
  maxMessageBytes?: number;
  /** Outbound backlog (bytes) past which the session closes with "send buffer overflow" (default `MAX_SEND_BUFFER_BYTES`). */
  maxSendBufferBytes?: number;
  /** Idle milliseconds before a KEEPALIVE is sent (default `KEEPALIVE_INTERVAL_MS`). */
  keepaliveIntervalMs?: number;
  /** Silent milliseconds before the peer is dropped with "keepalive timeout" (default `KEEPALIVE_TIMEOUT_MS`). */
  keepaliveTimeoutMs?: number;
  /** Milliseconds the handshake may take (default `HANDSHAKE_TIMEOUT_MS`). */
  handshakeTimeoutMs?: number;
  /** Inbound frames plus messages per second before "flood"; 0 = unlimited (default `MAX_INBOUND_PER_SECOND`). */
  maxInboundPerSecond?: number;
  /**
   * Received bytes waiting for asynchronous decryption (WebCrypto) before the peer is dropped with
   * "receive backlog overflow", ≥ maxFrameBytes (default `MAX_PENDING_DECRYPT_BYTES`, or
   * maxFrameBytes if larger). Unused on the synchronous (Node) path, which decrypts as it reads.
   */
  maxPendingDecryptBytes?: number;
  /** Protocol version to announce. For tests of version mismatch only (default `WIRE_VERSION`). */
  protocolVersion?: number;
}

/** What a session tells its owner. Callbacks run inside the read handler; they must not throw. */
export interface SessionHandler {
  /** The handshake completed; messages may flow. */
  onEstablished(): void;
  /** A whole message, borrowed: `bytes` is valid only during the call. */
  onMessage(bytes: Uint8Array, offset: number, length: number): void;
  /** A protocol or peer error; `onClose` follows. */
  onError(reason: string): void;
  /** The session ended (once). `byPeer`: the peer sent CLOSE or the connection dropped. */
  onClose(reason: string, byPeer: boolean, code: number): void;
}

const enum State {
  AwaitHello,
  AwaitWelcome,
  AwaitFinished,
  Open,
  Closed,
}

/** HELLO/WELCOME body: type, magic (4), version, flags, random (32). */
const HANDSHAKE_BODY_BYTES = 1 + MAGIC.length + 1 + 1 + HANDSHAKE_RANDOM_BYTES;
const VERSION_AT = 1 + MAGIC.length;
const FLAGS_AT = VERSION_AT + 1;
const RANDOM_AT = FLAGS_AT + 1;
const FRAME_PREFIX = 4;
const AES_NONCE_PREFIX_BYTES = 4;

const encoder = new TextEncoder();
const EMPTY_BYTES = new Uint8Array(0);
const decoder = new TextDecoder();

function checkLimit(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

/** Resolved limits of a session; validated once per server or client. */
export interface SessionLimits {
  readonly maxFrameBytes: number;
  readonly maxMessageBytes: number;
  readonly maxSendBufferBytes: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly maxInboundPerSecond: number;
  readonly maxPendingDecryptBytes: number;
  readonly protocolVersion: number;
}

/**
 * Validate options and fill in defaults.
 * @throws RangeError naming the option and its bounds
 */
export function resolveSessionLimits(options: SessionOptions = {}): SessionLimits {
  const maxFrameBytes = checkLimit('maxFrameBytes', options.maxFrameBytes ?? MAX_FRAME_BYTES, MIN_FRAME_BYTES, MAX_FRAME_BYTES_LIMIT);
  return {
    maxFrameBytes,
    maxMessageBytes: checkLimit('maxMessageBytes', options.maxMessageBytes ?? MAX_MESSAGE_BYTES, 1, MAX_CHUNK_BYTES_LIMIT),
    maxSendBufferBytes: checkLimit('maxSendBufferBytes', options.maxSendBufferBytes ?? MAX_SEND_BUFFER_BYTES, MIN_SEND_BUFFER_BYTES, 2 ** 31),
    keepaliveIntervalMs: checkLimit('keepaliveIntervalMs', options.keepaliveIntervalMs ?? KEEPALIVE_INTERVAL_MS, MIN_TIMER_MS, MAX_TIMER_MS),
    keepaliveTimeoutMs: checkLimit('keepaliveTimeoutMs', options.keepaliveTimeoutMs ?? KEEPALIVE_TIMEOUT_MS, MIN_KEEPALIVE_TIMEOUT_MS, MAX_TIMER_MS),
    handshakeTimeoutMs: checkLimit('handshakeTimeoutMs', options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS, MIN_TIMER_MS, MAX_TIMER_MS),
    maxInboundPerSecond: checkLimit('maxInboundPerSecond', options.maxInboundPerSecond ?? MAX_INBOUND_PER_SECOND, 0, 2 ** 31),
    maxPendingDecryptBytes: checkLimit('maxPendingDecryptBytes', options.maxPendingDecryptBytes ?? Math.max(MAX_PENDING_DECRYPT_BYTES, maxFrameBytes), maxFrameBytes, 2 ** 31),
    protocolVersion: checkLimit('protocolVersion', options.protocolVersion ?? WIRE_VERSION, 0, 255),
  };
}

function grow(buf: Uint8Array, fill: number, need: number): Uint8Array {
  if (buf.length >= need) return buf;
  const next = new Uint8Array(Math.max(need, buf.length * 2, INITIAL_BUFFER_BYTES));
  next.set(buf.subarray(0, fill));
  return next;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a: Uint8Array, aOff: number, aLen: number, b: Uint8Array): boolean {
  if (aLen !== b.length) return false;
  for (let i = 0; i < aLen; i++) if (a[aOff + i] !== b[i]) return false;
  return true;
}

/** A clock in milliseconds; performance.now() exists in Node and browsers. */
export function nowMs(): number {
  return performance.now();
}

/**
 * One end of a connection. The client side sends HELLO at once; the server side waits for it.
 */
export class Session {
  readonly role: 'client' | 'server';
  readonly stream: ByteStream;
  readonly limits: SessionLimits;
  private readonly platform: WirePlatform;
  private readonly key: Uint8Array | null;
  private readonly handler: SessionHandler;
  private state: State;
  private readonly frames: FrameDecoder;
  private readonly chunks: ChunkAssembler;
  private tx: Aead | AsyncAead | null = null;
  private rx: Aead | AsyncAead | null = null;
  private helloBody: Uint8Array | null = null;
  private ownRandom: Uint8Array | null = null;
  /** Inbound frames wait here while keys are derived or frames are opened asynchronously. */
  private rxChain: Promise<void> | null = null;
  private txChain: Promise<void> = Promise.resolve();
  private asyncInFlightBytes = 0;
  /** Bytes of received frames copied onto `rxChain` and not yet opened (≤ maxPendingDecryptBytes). */
  private rxPendingBytes = 0;

  // Scratch buffers start empty and get INITIAL_BUFFER_BYTES at first use: a connection that
  // never completes its handshake costs no buffers (issue 14: pending handshakes are cheap).
  // Outbound: the chunk stream of queued messages, raw handshake bytes, and flags.
  private data: Uint8Array = EMPTY_BYTES;
  private dataFill = 0;
  private keepaliveDue = false;
  private closeFrame: Uint8Array | null = null;
  private flushScheduled = false;
  // Flush scratch: plaintext frames (encrypted mode), the wire bytes, and the AEAD jobs.
  private plain: Uint8Array = EMPTY_BYTES;
  private out: Uint8Array = EMPTY_BYTES;
  private jobs = new Int32Array(16 * AEAD_JOB_STRIDE);
  private rxPlain: Uint8Array = EMPTY_BYTES;
  private rxJobs = new Int32Array(64 * AEAD_JOB_STRIDE);

  private readonly createdAt: number;
  private lastReceiveAt: number;
  private lastSendAt: number;
  private floodWindowAt: number;
  private floodCount = 0;
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly flushTask = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /**
   * @param role which end this is
   * @param stream the connected stream; the session takes over its callbacks
   * @param key the pre-shared key (16 or 32 bytes) or null for a plaintext session
   * @param platform crypto and parsers
   * @param limits from `resolveSessionLimits`
   * @param handler the owner's callbacks
   * @param startedAt when the handshake deadline started (`nowMs()` clock), default now; a
   *   server passes the accept time, so the time spent before the session existed (waiting for
   *   the first byte, the WebSocket upgrade) counts against the same `handshakeTimeoutMs`
   */
  constructor(
    role: 'client' | 'server',
    stream: ByteStream,
    key: Uint8Array | null,
    platform: WirePlatform,
    limits: SessionLimits,
    handler: SessionHandler,
    startedAt?: number,
  ) {
    this.role = role;
    this.stream = stream;
    this.key = key;
    this.platform = platform;
    this.limits = limits;
    this.handler = handler;
    this.frames = platform.frameDecoder({ maxFrameBytes: limits.maxFrameBytes });
    this.chunks = platform.chunkAssembler({ maxChunkBytes: limits.maxMessageBytes, prefixBytes: CHUNK_PREFIX_BYTES, maxStreams: 1 });
    this.createdAt = this.lastReceiveAt = this.lastSendAt = this.floodWindowAt = nowMs();
    if (startedAt !== undefined && startedAt < this.createdAt) this.createdAt = startedAt;
    this.state = role === 'server' ? State.AwaitHello : State.AwaitWelcome;
    stream.onData = (d) => {
      // Network input never throws out of a socket handler (STYLE.md §4): a bug here drops this
      // peer with a reason instead of crashing the process.
      try {
        this.onData(d);
      } catch (err) {
        this.fail(`internal error: ${(err as Error).message}`, CloseCode.ProtocolError);
      }
    };
    stream.onClose = (info) => {
      if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
      if (this.closed) return;
      const reason = info.error ? `connection lost: ${info.error.message}` : 'connection lost';
      const lost = (): void => {
        if (!this.closed) this.finish(reason, true, CloseCode.Normal);
      };
      // Frames that arrived before the end may still be opening (WebCrypto): report the end after
      // them, so their messages and errors (a wrong key's "authentication failed") come first.
      if (this.rxChain !== null) this.rxChain = this.rxChain.then(lost);
      else lost();
    };
    if (role === 'client') {
      this.helloBody = this.handshakeBody(FrameType.Hello);
      this.writeRaw(this.helloBody);
      this.stream.flush();
    }
  }

  /** True once the handshake is complete and until the session closes. */
  get established(): boolean {
    return this.state === State.Open;
  }

  /** True after the session closed. */
  get closed(): boolean {
    return this.state === State.Closed;
  }

  /** Bytes of received frames waiting for asynchronous decryption (0 on the synchronous path). */
  get pendingDecryptBytes(): number {
    return this.rxPendingBytes;
  }

  /** True when frames are sealed (both sides have the same key). */
  get encrypted(): boolean {
    return this.key !== null;
  }

  /** The outbound backlog (bytes): queued messages plus bytes the stream has not yet sent. */
  get backlogBytes(): number {
    return this.dataFill + this.asyncInFlightBytes + this.stream.bufferedBytes;
  }

  /**
   * Queue one encoded message for the next flush (this tick).
   * @returns false when the session is not open, or when the backlog is past
   *   `maxSendBufferBytes` (the session then closes with "send buffer overflow")
   * @throws RangeError when `length` is 0 or above maxMessageBytes (checked by the caller first)
   */
  queueMessage(bytes: Uint8Array, offset: number, length: number): boolean {
    if (this.state !== State.Open) return false;
    if (length < 1 || length > this.limits.maxMessageBytes) {
      throw new RangeError(`message length must be in 1..${this.limits.maxMessageBytes}, got ${length}`);
    }
    // The check is on the backlog before this message, so one message up to maxMessageBytes always
    // fits an idle connection, and memory per connection stays under limit + one message.
    if (this.backlogBytes > this.limits.maxSendBufferBytes) {
      this.fail('send buffer overflow', CloseCode.Overflow);
      return false;
    }
    const need = this.dataFill + CHUNK_PREFIX_BYTES + length;
    this.data = grow(this.data, this.dataFill, need);
    this.dataFill += encodeChunkPrefix(length, CHUNK_PREFIX_BYTES, this.data, this.dataFill);
    this.data.set(bytes.subarray(offset, offset + length), this.dataFill);
    this.dataFill += length;
    this.scheduleFlush();
    return true;
  }

  /**
   * Count the peer as heard from now: the owner paused reading from it (backpressure), so its
   * keepalives wait unread in the socket and must not time it out.
   */
  markAlive(now: number): void {
    this.lastReceiveAt = now;
  }

  /**
   * Periodic check (the owner calls it every few tens of milliseconds): handshake and keepalive
   * timeouts, and a KEEPALIVE after an idle interval.
   */
  tick(now: number): void {
    if (this.closed) return;
    if (this.state !== State.Open) {
      if (now - this.createdAt > this.limits.handshakeTimeoutMs) this.fail('handshake timeout', CloseCode.Timeout);
      return;
    }
    if (now - this.lastReceiveAt > this.limits.keepaliveTimeoutMs) {
      this.fail('keepalive timeout', CloseCode.Timeout);
      return;
    }
    if (now - this.lastSendAt >= this.limits.keepaliveIntervalMs) {
      this.keepaliveDue = true;
      this.flush();
    }
  }

  /**
   * Close with a CLOSE frame carrying `code` and `reason`, flushing what is queued first.
   * `onClose` runs at once with `byPeer` false. Idempotent.
   */
  close(code: number = CloseCode.Normal, reason = 'closed'): void {
    if (this.closed) return;
    const established = this.state === State.Open || this.tx !== null;
    const body = encoder.encode(reason).subarray(0, MAX_CLOSE_REASON_BYTES);
    const frame = new Uint8Array(2 + body.length);
    frame[0] = FrameType.Close;
    frame[1] = code;
    frame.set(body, 2);
    if (established) {
      this.closeFrame = frame;
      this.flush();
    } else {
      // Before keys exist the CLOSE goes in plaintext (version or key mismatch, §4.5).
      this.dataFill = 0;
      this.writeRaw(frame);
      this.stream.flush();
    }
    this.finish(reason, false, code);
    const end = (): void => this.endAndLinger();
    // Also on a rejected chain (a failed seal): the stream must be ended and destroyed either way.
    if (this.tx !== null && isAsyncAead(this.tx)) void this.txChain.then(end, end);
    else end();
  }

  /** Report an error to the owner, then close with `code`. */
  fail(reason: string, code: number, sendClose = true): void {
    if (this.closed) return;
    this.handler.onError(reason);
    if (sendClose) {
      this.close(code, reason);
      return;
    }
    // No CLOSE (the peer could not open it, or cannot read it): end what was written, then drop.
    this.finish(reason, false, code);
    // On WebCrypto our FINISHED may still be sealing when the peer's fails to open: end after it,
    // so the peer reads it and reports "authentication failed" too, not a lost connection.
    const end = (): void => this.endAndLinger();
    if (this.tx !== null && isAsyncAead(this.tx)) void this.txChain.then(end, end);
    else end();
  }

  /** End the stream, and destroy it if the peer has not closed it within CLOSE_LINGER_MS. */
  private endAndLinger(): void {
    this.stream.end();
    this.lingerTimer = setTimeout(() => this.stream.destroy(), CLOSE_LINGER_MS);
    (this.lingerTimer as { unref?: () => void }).unref?.();
  }

  /** Drop the connection at once without a CLOSE frame (e.g. the process is going away). */
  destroy(reason = 'destroyed'): void {
    if (this.closed) return;
    this.finish(reason, false, CloseCode.Normal);
    this.stream.destroy();
  }

  /** Write everything queued now: one seal batch, one stream write. Normally runs by itself. */
  flush(): void {
    if (this.tx === null && this.state !== State.Open) return;
    if (this.closed && this.closeFrame === null) return;
    const sealed = this.tx !== null;
    const tag = sealed ? AEAD_TAG_BYTES : 0;
    const maxPayload = this.limits.maxFrameBytes - 1 - tag;
    const dataFrames = Math.ceil(this.dataFill / maxPayload);
    const control = (this.keepaliveDue && dataFrames === 0 ? 1 : 0) + (this.closeFrame ? 1 : 0);
    const frameCount = dataFrames + control;
    if (frameCount === 0) return;
    const plainBytes = this.dataFill + dataFrames + (control === 0 ? 0 : 1 + (this.closeFrame?.length ?? 0));
    const wireBytes = plainBytes + frameCount * (FRAME_PREFIX + tag);
    // Big scratch buffers are kept while flushes stay big (a stream of large messages grows
    // them once, not by doubling again for each one) and released by the first small flush: a
    // keepalive at the latest, so an idle connection holds none for long.
    const releaseBig = wireBytes <= KEEP_BUFFER_BYTES;
    // The wire bytes of a big flush go into a buffer of their own that the stream takes over,
    // instead of a kept scratch buffer the stream would have to copy.
    const owned = !releaseBig && this.stream.writeOwned !== undefined && !(this.tx !== null && isAsyncAead(this.tx));
    // Plain frames are built straight into `out`; sealed ones into `plain`, then sealed into `out`.
    const out = owned ? new Uint8Array(wireBytes) : (this.out = grow(this.out, 0, wireBytes));
    if (sealed) this.plain = grow(this.plain, 0, plainBytes);
    if (this.jobs.length < frameCount * AEAD_JOB_STRIDE) this.jobs = new Int32Array(frameCount * AEAD_JOB_STRIDE * 2);
    const target = sealed ? this.plain : out;
    const jobs = this.jobs;
    let outAt = 0;
    let plainAt = 0;
    let n = 0;
    const frame = (type: number, src: Uint8Array | null, srcOff: number, len: number): void => {
      const at = sealed ? plainAt : outAt + FRAME_PREFIX;
      target[at] = type;
      if (src !== null && len > 0) target.set(src.subarray(srcOff, srcOff + len), at + 1);
      const body = 1 + len;
      writeU32LE(out, outAt, body + tag);
      const j = n * AEAD_JOB_STRIDE;
      jobs[j] = at;
      jobs[j + 1] = body;
      jobs[j + 2] = outAt + FRAME_PREFIX;
      jobs[j + 3] = 0;
      n++;
      plainAt += body;
      outAt += FRAME_PREFIX + body + tag;
    };
    for (let off = 0; off < this.dataFill; off += maxPayload) frame(FrameType.Data, this.data, off, Math.min(maxPayload, this.dataFill - off));
    if (this.keepaliveDue && dataFrames === 0) frame(FrameType.Keepalive, null, 0, 0);
    if (this.closeFrame) frame(FrameType.Close, this.closeFrame, 1, this.closeFrame.length - 1);
    this.keepaliveDue = false;
    this.closeFrame = null;
    this.dataFill = 0;
    if (releaseBig && this.data.length > KEEP_BUFFER_BYTES) this.data = new Uint8Array(INITIAL_BUFFER_BYTES);
    this.lastSendAt = nowMs();
    const tx = this.tx;
    if (tx !== null && isAsyncAead(tx)) {
      this.flushAsync(tx, n);
      return;
    }
    if (tx !== null) {
      const done = tx.sealBatch(this.plain, out, jobs, n);
      if (done < n) {
        this.fail(errorReason(-jobs[done * AEAD_JOB_STRIDE + 3]! || ErrorCode.CounterExhausted), CloseCode.ProtocolError, false);
        return;
      }
    }
    this.writeOut(out, outAt, owned);
    if (!releaseBig) return;
    if (this.out.length > KEEP_BUFFER_BYTES) this.out = new Uint8Array(INITIAL_BUFFER_BYTES);
    if (this.plain.length > KEEP_BUFFER_BYTES) this.plain = new Uint8Array(INITIAL_BUFFER_BYTES);
  }

  /** WebCrypto path: seal in frame order now (counters are taken at call), write in order later. */
  private flushAsync(tx: AsyncAead, n: number): void {
    const sealing: Promise<Uint8Array>[] = [];
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const j = i * AEAD_JOB_STRIDE;
      const body = this.plain.slice(this.jobs[j]!, this.jobs[j]! + this.jobs[j + 1]!);
      bytes += body.length + FRAME_PREFIX + AEAD_TAG_BYTES;
      sealing.push(tx.seal(body));
    }
    this.asyncInFlightBytes += bytes;
    this.txChain = this.txChain
      .then(() => Promise.all(sealing))
      .then(
        (sealed) => {
          this.asyncInFlightBytes -= bytes;
          const wire = new Uint8Array(bytes);
          let at = 0;
          for (const s of sealed) {
            writeU32LE(wire, at, s.length);
            wire.set(s, at + FRAME_PREFIX);
            at += FRAME_PREFIX + s.length;
          }
          this.writeOut(wire, at);
        },
        () => {
          this.asyncInFlightBytes -= bytes;
          this.fail(errorReason(ErrorCode.CounterExhausted), CloseCode.ProtocolError, false);
        },
      );
  }

  /** Write `buf[0, length)`; `owned`: the stream may keep `buf` (nobody writes to it again). */
  private writeOut(buf: Uint8Array, length: number, owned = false): void {
    const stream = this.stream;
    if (!stream.open) return;
    const piece = stream.kind === 'websocket' ? WS_WRITE_PIECE_BYTES : length;
    for (let off = 0; off < length; off += piece) {
      const part = buf.subarray(off, Math.min(length, off + piece));
      if (owned) stream.writeOwned!(part);
      else stream.write(part);
    }
    stream.flush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(this.flushTask);
  }

  /** A plaintext frame (handshake), queued on the stream; the caller flushes. */
  private writeRaw(body: Uint8Array): void {
    const buf = new Uint8Array(FRAME_PREFIX + body.length);
    writeU32LE(buf, 0, body.length);
    buf.set(body, FRAME_PREFIX);
    this.stream.write(buf);
    this.lastSendAt = nowMs();
  }

  private handshakeBody(type: number): Uint8Array {
    const body = new Uint8Array(HANDSHAKE_BODY_BYTES);
    body[0] = type;
    body.set(MAGIC, 1);
    body[VERSION_AT] = this.limits.protocolVersion;
    body[FLAGS_AT] = this.key !== null ? FLAG_ENCRYPTED : 0;
    this.ownRandom = this.platform.crypto.randomBytes(HANDSHAKE_RANDOM_BYTES);
    body.set(this.ownRandom, RANDOM_AT);
    return body;
  }

  private finish(reason: string, byPeer: boolean, code: number): void {
    if (this.closed) return;
    this.state = State.Closed;
    this.dataFill = 0;
    this.releaseInbound();
    this.handler.onClose(reason, byPeer, code);
  }

  /**
   * Closed: nothing is read any more, so give back the receive side's buffers now rather than
   * when the application lets go of the connection handle. A partial message (up to
   * `maxMessageBytes`) held by the chunk assembler, and with the native parsers C++ memory V8
   * does not see, would otherwise stay until a major GC collects the session.
   */
  private releaseInbound(): void {
    this.chunks.dropStream(0);
    this.frames.reset();
    this.rxPlain = EMPTY_BYTES;
    this.rxJobs = new Int32Array(AEAD_JOB_STRIDE);
    this.helloBody = null;
    this.ownRandom = null;
  }

  // ---------------------------------------------------------------- inbound

  private onData(data: Uint8Array): void {
    if (this.closed) return;
    this.lastReceiveAt = nowMs();
    const frames = this.frames;
    let off = 0;
    while (off < data.length && !this.closed) {
      const n = frames.feed(data, off, data.length - off);
      if (n > 0) this.onFrames(n, data);
      if (this.closed) return;
      if (frames.error !== ErrorCode.Ok) {
        const code = frames.error;
        this.fail(code === ErrorCode.FrameTooLarge ? `${errorReason(code)} (${this.limits.maxFrameBytes} bytes)` : errorReason(code), CloseCode.ProtocolError);
        return;
      }
      if (frames.consumed === 0 && n === 0) return;
      off += frames.consumed;
    }
  }

  private onFrames(n: number, data: Uint8Array): void {
    const units = this.frames.units;
    if (this.limits.maxInboundPerSecond > 0 && this.countInbound(n)) return;
    let i = 0;
    while (i < n && !this.closed) {
      const u = i * FRAME_UNIT_STRIDE;
      const src = (units[u]! & UnitFlag.InCarry) !== 0 ? this.frames.carry() : data;
      const off = units[u + 1]!;
      const len = units[u + 2]!;
      if (this.rxChain !== null) {
        // Keys are being derived, or frames are opened asynchronously: keep order on the chain.
        // Each waiting frame is a copy, so the bytes waiting are capped: a peer sending faster
        // than we decrypt is dropped instead of growing memory.
        if (this.rxPendingBytes + len > this.limits.maxPendingDecryptBytes) {
          this.fail(`receive backlog overflow (more than ${this.limits.maxPendingDecryptBytes} bytes waiting for decryption)`, CloseCode.Overflow);
          return;
        }
        this.rxPendingBytes += len;
        const copy = src.slice(off, off + len);
        const done = (): void => {
          this.rxPendingBytes -= len;
        };
        this.rxChain = this.rxChain
          .then(() => this.onFrameLater(copy))
          .then(done, (err: unknown) => {
            done();
            this.fail(`internal error: ${(err as Error).message}`, CloseCode.ProtocolError);
          });
        i++;
        continue;
      }
      const rx = this.rx;
      if (rx === null) {
        this.onPlainFrame(src, off, len);
        i++;
        continue;
      }
      if (isAsyncAead(rx)) {
        this.rxChain = Promise.resolve();
        continue; // this frame goes through the chain on the next pass
      }
      i = this.openBatch(rx, src, i, n);
    }
  }

  /** Open units [first, n) that share `src` in one batch, dispatch them. @returns the next unit index. */
  private openBatch(rx: Aead, src: Uint8Array, first: number, n: number): number {
    const units = this.frames.units;
    const carry = this.frames.carry();
    let count = 0;
    let bytes = 0;
    const groupInCarry = src === carry;
    let i = first;
    for (; i < n; i++) {
      const u = i * FRAME_UNIT_STRIDE;
      // One batch reads one buffer: the carry unit (at most one per feed) goes alone.
      if (((units[u]! & UnitFlag.InCarry) !== 0) !== groupInCarry) break;
      const len = units[u + 2]!;
      if (this.rxJobs.length < (count + 1) * AEAD_JOB_STRIDE) {
        const grown = new Int32Array(this.rxJobs.length * 2);
        grown.set(this.rxJobs);
        this.rxJobs = grown;
      }
      const j = count * AEAD_JOB_STRIDE;
      this.rxJobs[j] = units[u + 1]!;
      this.rxJobs[j + 1] = len;
      this.rxJobs[j + 2] = bytes;
      this.rxJobs[j + 3] = 0;
      bytes += Math.max(0, len - AEAD_TAG_BYTES);
      count++;
    }
    if (this.rxPlain.length < bytes) this.rxPlain = new Uint8Array(Math.max(bytes, this.rxPlain.length * 2, INITIAL_BUFFER_BYTES));
    const plain = this.rxPlain;
    const opened = rx.openBatch(src, plain, this.rxJobs, count);
    for (let k = 0; k < opened && !this.closed; k++) {
      const j = k * AEAD_JOB_STRIDE;
      this.onSealedFrame(plain, this.rxJobs[j + 2]!, this.rxJobs[j + 3]!);
    }
    if (opened < count && !this.closed) {
      this.fail(errorReason(-this.rxJobs[opened * AEAD_JOB_STRIDE + 3]!), CloseCode.ProtocolError, false);
    }
    // As on the send side: kept while reads stay big, released by the first small one.
    if (bytes <= KEEP_BUFFER_BYTES && this.rxPlain.length > KEEP_BUFFER_BYTES) this.rxPlain = new Uint8Array(INITIAL_BUFFER_BYTES);
    return i;
  }

  /** A frame queued on the rx chain (async keys or WebCrypto). */
  private async onFrameLater(frame: Uint8Array): Promise<void> {
    if (this.closed) return;
    const rx = this.rx;
    if (rx === null) {
      this.onPlainFrame(frame, 0, frame.length);
      return;
    }
    let plain: Uint8Array | null;
    if (isAsyncAead(rx)) plain = await rx.open(frame);
    else {
      plain = new Uint8Array(Math.max(0, frame.length - AEAD_TAG_BYTES));
      if (rx.open(frame, 0, frame.length, plain, 0) < 0) plain = null;
    }
    if (this.closed) return;
    if (plain === null) {
      this.fail(errorReason(ErrorCode.AuthFailed), CloseCode.ProtocolError, false);
      return;
    }
    this.onSealedFrame(plain, 0, plain.length);
  }

  /** @returns true when the peer was dropped for flooding. */
  private countInbound(n: number): boolean {
    const now = this.lastReceiveAt;
    if (now - this.floodWindowAt >= FLOOD_WINDOW_MS) {
      this.floodWindowAt = now;
      this.floodCount = 0;
    }
    this.floodCount += n;
    if (this.floodCount > this.limits.maxInboundPerSecond) {
      this.fail('flood', CloseCode.Flood);
      return true;
    }
    return false;
  }

  private onPlainFrame(buf: Uint8Array, off: number, len: number): void {
    switch (this.state) {
      case State.AwaitHello:
        this.onHello(buf, off, len);
        return;
      case State.AwaitWelcome:
        this.onWelcome(buf, off, len);
        return;
      case State.Open:
        this.onOpenFrame(buf, off, len);
        return;
      default:
        this.fail('protocol error: unexpected plaintext frame', CloseCode.ProtocolError);
    }
  }

  /** Checks shared by HELLO and WELCOME. @returns an error reason or null, and sets `code`. */
  private checkHandshake(buf: Uint8Array, off: number, len: number, type: number, peer: string): [string, number] | null {
    if (len < 1 || buf[off] !== type || len < VERSION_AT + 1 || !equalBytes(buf, off + 1, MAGIC.length, MAGIC)) {
      return [`protocol error: not a gamewire mm ${peer}`, CloseCode.ProtocolError];
    }
    // Version before length: another version may have another layout (§3).
    const version = buf[off + VERSION_AT]!;
    if (version !== this.limits.protocolVersion) {
      return [`version mismatch: this ${this.role} speaks ${this.limits.protocolVersion}, the ${peer} ${version}`, CloseCode.VersionMismatch];
    }
    if (len !== HANDSHAKE_BODY_BYTES) return [`protocol error: handshake of ${len} bytes, expected ${HANDSHAKE_BODY_BYTES}`, CloseCode.ProtocolError];
    const peerKey = (buf[off + FLAGS_AT]! & FLAG_ENCRYPTED) !== 0;
    const ownKey = this.key !== null;
    if (peerKey !== ownKey) {
      return [
        ownKey ? `key mismatch: this ${this.role} has a key, the ${peer} has none` : `key mismatch: the ${peer} has a key, this ${this.role} has none`,
        CloseCode.KeyMismatch,
      ];
    }
    return null;
  }

  private onHello(buf: Uint8Array, off: number, len: number): void {
    const bad = this.checkHandshake(buf, off, len, FrameType.Hello, 'client');
    if (bad !== null) {
      this.fail(bad[0], bad[1]);
      return;
    }
    const hello = buf.slice(off, off + len);
    const welcome = this.handshakeBody(FrameType.Welcome);
    this.writeRaw(welcome);
    if (this.key === null) {
      this.stream.flush();
      this.state = State.Open;
      this.handler.onEstablished();
      return;
    }
    this.state = State.AwaitFinished;
    this.deriveKeys(hello, welcome);
  }

  private onWelcome(buf: Uint8Array, off: number, len: number): void {
    if (len >= 2 && buf[off] === FrameType.Close) {
      // The server refused us in plaintext (version or key mismatch, server full).
      const reason = decoder.decode(buf.subarray(off + 2, off + len));
      this.handler.onError(reason || 'refused by the server');
      this.finish(reason || 'refused by the server', true, buf[off + 1]!);
      this.stream.destroy();
      return;
    }
    const bad = this.checkHandshake(buf, off, len, FrameType.Welcome, 'server');
    if (bad !== null) {
      this.fail(bad[0], bad[1]);
      return;
    }
    const welcome = buf.slice(off, off + len);
    if (this.key === null) {
      this.state = State.Open;
      this.handler.onEstablished();
      return;
    }
    this.state = State.AwaitFinished;
    this.deriveKeys(this.helloBody!, welcome);
  }

  /**
   * §4.3: each direction's key and nonce prefix come from HKDF-SHA256 over the pre-shared key,
   * salted with both randoms, bound to the whole HELLO and WELCOME. Then FINISHED is sent sealed.
   */
  private deriveKeys(hello: Uint8Array, welcome: Uint8Array): void {
    const key = this.key!;
    const salt = concat(hello.subarray(RANDOM_AT), welcome.subarray(RANDOM_AT));
    const length = key.length + AES_NONCE_PREFIX_BYTES;
    const c2s = this.platform.crypto.hkdfSha256(key, salt, concat(INFO_CLIENT_TO_SERVER, hello, welcome), length);
    const s2c = this.platform.crypto.hkdfSha256(key, salt, concat(INFO_SERVER_TO_CLIENT, hello, welcome), length);
    const install = (a: Uint8Array, b: Uint8Array): void => {
      if (this.closed) return;
      const [txKm, rxKm] = this.role === 'client' ? [a, b] : [b, a];
      this.tx = this.platform.crypto.createAead(txKm.subarray(0, key.length), txKm.subarray(key.length));
      this.rx = this.platform.crypto.createAead(rxKm.subarray(0, key.length), rxKm.subarray(key.length));
      const label = this.role === 'client' ? FINISHED_CLIENT : FINISHED_SERVER;
      // FINISHED is the first sealed frame in each direction (counter 0).
      this.sendFinished(label);
    };
    if (c2s instanceof Uint8Array && s2c instanceof Uint8Array) {
      install(c2s, s2c);
      return;
    }
    this.rxChain = Promise.all([c2s, s2c]).then(
      ([a, b]) => install(a, b),
      (err: unknown) => this.fail(`key derivation failed: ${(err as Error).message}`, CloseCode.ProtocolError),
    );
  }

  private sendFinished(label: Uint8Array): void {
    const tx = this.tx!;
    const body = concat(Uint8Array.of(FrameType.Finished), label);
    if (isAsyncAead(tx)) {
      const sealing = tx.seal(body);
      this.txChain = this.txChain
        .then(() => sealing)
        .then(
          (sealed) => {
            this.writeRaw(sealed);
            this.stream.flush();
          },
          // A failed seal drops the peer here rather than leaving an unhandled rejection.
          () => this.fail(errorReason(ErrorCode.CounterExhausted), CloseCode.ProtocolError, false),
        );
      return;
    }
    const out = new Uint8Array(body.length + AEAD_TAG_BYTES);
    tx.seal(body, 0, body.length, out, 0);
    this.writeRaw(out);
    this.stream.flush();
  }

  private onSealedFrame(buf: Uint8Array, off: number, len: number): void {
    if (this.state === State.AwaitFinished) {
      const expected = this.role === 'client' ? FINISHED_SERVER : FINISHED_CLIENT;
      if (len < 1 || buf[off] !== FrameType.Finished || !equalBytes(buf, off + 1, len - 1, expected)) {
        this.fail('protocol error: expected FINISHED', CloseCode.ProtocolError);
        return;
      }
      this.state = State.Open;
      this.handler.onEstablished();
      return;
    }
    this.onOpenFrame(buf, off, len);
  }

  private onOpenFrame(buf: Uint8Array, off: number, len: number): void {
    if (len < 1) {
      this.fail('protocol error: empty frame', CloseCode.ProtocolError);
      return;
    }
    switch (buf[off]) {
      case FrameType.Data:
        this.onDataPayload(buf, off + 1, len - 1);
        return;
      case FrameType.Keepalive:
        return;
      case FrameType.Close: {
        const code = len >= 2 ? buf[off + 1]! : CloseCode.Normal;
        const reason = len > 2 ? decoder.decode(buf.subarray(off + 2, off + len)) : 'closed by peer';
        if (code !== CloseCode.Normal && code !== CloseCode.ServerClosing) this.handler.onError(reason);
        this.finish(reason, true, code);
        this.stream.end();
        return;
      }
      default:
        this.fail(`protocol error: unexpected frame type 0x${buf[off]!.toString(16)}`, CloseCode.ProtocolError);
    }
  }

  private onDataPayload(buf: Uint8Array, off: number, len: number): void {
    const chunks = this.chunks;
    const end = off + len;
    while (off < end && !this.closed) {
      const n = chunks.feed(0, buf, off, end - off);
      const units = chunks.units;
      if (n > 0 && this.limits.maxInboundPerSecond > 0 && this.countInbound(n)) return;
      for (let i = 0; i < n && !this.closed; i++) {
        const u = i * CHUNK_UNIT_STRIDE;
        const src = (units[u]! & UnitFlag.InCarry) !== 0 ? chunks.carry() : buf;
        this.handler.onMessage(src, units[u + 1]!, units[u + 2]!);
      }
      if (this.closed) return;
      if (chunks.error !== ErrorCode.Ok) {
        const code = chunks.error;
        if (code === ErrorCode.ChunkTooLarge) this.fail(`message too large (limit ${this.limits.maxMessageBytes} bytes)`, CloseCode.MessageTooLarge);
        else this.fail(`protocol error: ${errorReason(code)}`, CloseCode.ProtocolError);
        return;
      }
      if (chunks.consumed === 0 && n === 0) return;
      off += chunks.consumed;
    }
  }
}

function writeU32LE(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value & 0xff;
  buf[at + 1] = (value >>> 8) & 0xff;
  buf[at + 2] = (value >>> 16) & 0xff;
  buf[at + 3] = (value >>> 24) & 0xff;
}
