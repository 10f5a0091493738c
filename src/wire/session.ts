/**
 * One end of a gamewire connection (docs/protocol.md): the handshake state machine, keepalive
 * and close, over any ByteStream. Knows nothing of tables or events: its owner (mm's Server or
 * Client) gets callbacks.
 *
 * The work is split as ws splits it: `sender.ts` coalesces a tick's messages into one sealed
 * batch and one stream write; `receiver.ts` splits reads into frames, opens them in one batch
 * per read and reassembles messages; `handshake.ts` builds and checks HELLO/WELCOME, derives the
 * keys and FINISHED; `session-limits.ts` resolves the options.
 */
import type { ByteStream } from '../transport/types.js';
import type { WirePlatform } from '../platform/types.js';
import { CLOSE_LINGER_MS, HANDSHAKE_RANDOM_BYTES } from './limits.js';
import { checkHandshake, deriveKeyMaterial, finishedBody, handshakeBody, isPeerFinished, sessionAeads } from './handshake.js';
import { CloseCode, FrameType, closeFrameBody } from './protocol.js';
import { Receiver, type ReceiverOwner } from './receiver.js';
import { Sender, type SenderOwner } from './sender.js';
import { nowMs, type SessionLimits } from './session-limits.js';

export { resolveSessionLimits, nowMs, type SessionLimits, type SessionOptions } from './session-limits.js';

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

const decoder = new TextDecoder();

/**
 * One end of a connection. The client side sends HELLO at once; the server side waits for it.
 */
export class Session implements SenderOwner, ReceiverOwner {
  readonly role: 'client' | 'server';
  readonly stream: ByteStream;
  readonly limits: SessionLimits;
  private readonly platform: WirePlatform;
  private readonly key: Uint8Array | null;
  private readonly handler: SessionHandler;
  private state: State;
  private readonly sender: Sender;
  private readonly receiver: Receiver;
  private helloBody: Uint8Array | null = null;
  private readonly createdAt: number;
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;

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
    this.createdAt = nowMs();
    this.sender = new Sender(stream, limits.maxFrameBytes, this, this.createdAt);
    this.receiver = new Receiver(platform, limits, this, handler, this.createdAt);
    if (startedAt !== undefined && startedAt < this.createdAt) this.createdAt = startedAt;
    this.state = role === 'server' ? State.AwaitHello : State.AwaitWelcome;
    stream.onData = (d) => {
      // Network input never throws out of a socket handler (STYLE.md §4): a bug here drops this
      // peer with a reason instead of crashing the process.
      try {
        this.receiver.onData(d);
      } catch (err) {
        this.fail(`internal error: ${(err as Error).message}`, CloseCode.ProtocolError);
      }
    };
    stream.onClose = (info) => {
      if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
      if (this.closed) return;
      const reason = info.error ? `connection lost: ${info.error.message}` : 'connection lost';
      // Frames that arrived before the end may still be opening (WebCrypto): report the end after
      // them, so their messages and errors (a wrong key's "authentication failed") come first.
      this.receiver.afterPending(() => {
        if (!this.closed) this.finish(reason, true, CloseCode.Normal);
      });
    };
    if (role === 'client') {
      this.helloBody = this.ownHandshake(FrameType.Hello);
      this.sender.writeRaw(this.helloBody);
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
    return this.receiver.pendingBytes;
  }

  /** True when frames are sealed (both sides have the same key). */
  get encrypted(): boolean {
    return this.key !== null;
  }

  /** The outbound backlog (bytes): queued messages plus bytes the stream has not yet sent. */
  get backlogBytes(): number {
    return this.sender.queuedBytes + this.stream.bufferedBytes;
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
    this.sender.queueMessage(bytes, offset, length);
    return true;
  }

  /**
   * Count the peer as heard from now: the owner paused reading from it (backpressure), so its
   * keepalives wait unread in the socket and must not time it out.
   */
  markAlive(now: number): void {
    this.receiver.lastReceiveAt = now;
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
    if (now - this.receiver.lastReceiveAt > this.limits.keepaliveTimeoutMs) {
      this.fail('keepalive timeout', CloseCode.Timeout);
      return;
    }
    if (now - this.sender.lastSendAt >= this.limits.keepaliveIntervalMs) this.sender.keepalive();
  }

  /**
   * Close with a CLOSE frame carrying `code` and `reason`, flushing what is queued first.
   * `onClose` runs at once with `byPeer` false. Idempotent.
   */
  close(code: number = CloseCode.Normal, reason = 'closed'): void {
    if (this.closed) return;
    const established = this.state === State.Open || this.sender.tx !== null;
    const frame = closeFrameBody(code, reason);
    if (established) this.sender.sealedClose(frame);
    else {
      // Before keys exist the CLOSE goes in plaintext (version or key mismatch, §4.5).
      this.sender.dropQueued();
      this.sender.writeRaw(frame);
      this.stream.flush();
    }
    this.finish(reason, false, code);
    this.sender.afterWrites(() => this.endAndLinger());
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
    this.sender.afterWrites(() => this.endAndLinger());
  }

  /** @internal (SenderOwner) sealing failed: drop the peer without a CLOSE. */
  sealFailed(reason: string): void {
    this.fail(reason, CloseCode.ProtocolError, false);
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
    this.sender.flush();
  }

  /** This side's HELLO or WELCOME, with fresh random bytes. */
  private ownHandshake(type: number): Uint8Array {
    return handshakeBody(type, this.limits.protocolVersion, this.key !== null, this.platform.crypto.randomBytes(HANDSHAKE_RANDOM_BYTES));
  }

  private finish(reason: string, byPeer: boolean, code: number): void {
    if (this.closed) return;
    this.state = State.Closed;
    this.sender.dropQueued();
    this.receiver.release();
    this.helloBody = null;
    this.handler.onClose(reason, byPeer, code);
  }

  // ---------------------------------------------------------------- inbound frames

  /** @internal (ReceiverOwner) a frame before keys exist. */
  onPlainFrame(buf: Uint8Array, off: number, len: number): void {
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

  private onHello(buf: Uint8Array, off: number, len: number): void {
    const bad = checkHandshake(buf, off, len, FrameType.Hello, this.role, this.limits.protocolVersion, this.key !== null);
    if (bad !== null) {
      this.fail(bad[0], bad[1]);
      return;
    }
    const hello = buf.slice(off, off + len);
    const welcome = this.ownHandshake(FrameType.Welcome);
    this.sender.writeRaw(welcome);
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
    const bad = checkHandshake(buf, off, len, FrameType.Welcome, this.role, this.limits.protocolVersion, this.key !== null);
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

  /** §4.3: derive both directions' keys (handshake.ts), then send FINISHED sealed. */
  private deriveKeys(hello: Uint8Array, welcome: Uint8Array): void {
    const key = this.key!;
    const crypto = this.platform.crypto;
    const [c2s, s2c] = deriveKeyMaterial(crypto, key, hello, welcome);
    const install = (a: Uint8Array, b: Uint8Array): void => {
      if (this.closed) return;
      const { tx, rx } = sessionAeads(crypto, this.role, key.length, a, b);
      this.sender.tx = tx;
      this.receiver.rx = rx;
      // FINISHED is the first sealed frame in each direction (counter 0).
      this.sender.sendFinished(finishedBody(this.role));
    };
    if (c2s instanceof Uint8Array && s2c instanceof Uint8Array) {
      install(c2s, s2c);
      return;
    }
    this.receiver.rxChain = Promise.all([c2s, s2c]).then(
      ([a, b]) => install(a, b),
      (err: unknown) => this.fail(`key derivation failed: ${(err as Error).message}`, CloseCode.ProtocolError),
    );
  }

  /** @internal (ReceiverOwner) an opened sealed frame. */
  onSealedFrame(buf: Uint8Array, off: number, len: number): void {
    if (this.state === State.AwaitFinished) {
      if (!isPeerFinished(buf, off, len, this.role)) {
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
        this.receiver.onDataPayload(buf, off + 1, len - 1);
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
}
