/**
 * Byte pipes shared by the styles: a `ByteStream` is one TCP connection or one WebSocket,
 * carrying an ordered byte stream either way. Message boundaries of WebSocket carry no meaning
 * inbound; outbound, each `write()` on a WebSocket stream becomes one binary message.
 */

/** Why a stream closed, as reported to `onClose`. */
export interface StreamCloseInfo {
  /** True when the peer or we ended it cleanly; false on a socket error. */
  clean: boolean;
  /** The socket error, if any. */
  error?: Error;
}

/** One connection, TCP or WebSocket. */
export interface ByteStream {
  readonly kind: 'tcp' | 'websocket';
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** True until the stream closes. */
  readonly open: boolean;
  /**
   * Queue `data` for the next `flush()`. The bytes are copied only if they must outlive the
   * call: callers may reuse `data` after returning. On a WebSocket, one write is one message.
   */
  write(data: Uint8Array): void;
  /**
   * Like `write`, without the copy: the caller hands `data` over and must never change those
   * bytes afterwards (a relay writing into a slab it never reuses). Optional; fall back to
   * `write` when absent.
   */
  writeOwned?(data: Uint8Array): void;
  /** Send everything queued since the last flush in one batch (cork/uncork). */
  flush(): void;
  /** Bytes queued or buffered in the socket and not yet sent: the outbound backlog. */
  readonly bufferedBytes: number;
  /** Optional: stop delivering inbound data (backpressure, throttling) until `resume()`. */
  pause?(): void;
  /** Optional: deliver inbound data again after `pause()`. */
  resume?(): void;
  /** Flush, then end the stream gracefully. */
  end(): void;
  /** Close now, dropping anything unsent. */
  destroy(): void;
  /** Inbound bytes, borrowed for the duration of the call. */
  onData: (data: Uint8Array) => void;
  /** Called once when the stream is closed, whatever the cause. */
  onClose: (info: StreamCloseInfo) => void;
  /**
   * Optional hook, called when the bytes of a `flush()` have been handed to the kernel (progress
   * on the outbound backlog). A relay watches it to resume the senders it paused for this peer and
   * to tell a slow reader from a stalled one. Set it before the first flush; it is not called in
   * browsers (their WebSocket reports no write completion).
   */
  onWritten?: () => void;
  /**
   * The consumer's own object for this stream (the relay's connection). The stream calls
   * `onData`, `onClose` and `onWritten` as its methods, so a consumer can give every stream the
   * same handlers and find its object as `this.owner`, instead of closures per stream (issue 13:
   * memory per idle connection).
   */
  owner?: unknown;
}
