/**
 * A connection of the native engine as the control plane sees it: a `ByteStream` whose writes go
 * to the engine's socket through `engine.send`, so the relay's commands (src/relay/commands.ts)
 * write their replies and events exactly as they do on the Node engine. Inbound bytes never come
 * here: the engine parses them on its I/O thread and reports only commands.
 */
import type { ByteStream, StreamCloseInfo } from '../../transport/types.js';
import { RELAY_ENGINE_REASONS, type RelayEngineBinding } from './binding.js';

const noop = (): void => {};
const SHUTDOWN_CODE = RELAY_ENGINE_REASONS.indexOf('shutdown');

export class EngineStream implements ByteStream {
  /** False once the connection closed (on either side); writes are then dropped. */
  open = true;
  /** The engine reported it closed (CLOSED event): nothing must be asked of the engine for it. */
  engineClosed = false;
  onData: (data: Uint8Array) => void = noop;
  onClose: (info: StreamCloseInfo) => void = noop;
  onWritten?: () => void;
  owner?: unknown;

  /**
   * @param engine the binding that owns the socket.
   * @param conn the engine's connection id.
   * @param ip what the admission counted it under, released once when it closes.
   * @param released called once when it closes (the engine's bookkeeping; shared by every stream).
   */
  constructor(
    private readonly engine: RelayEngineBinding,
    readonly conn: number,
    readonly kind: 'tcp' | 'websocket',
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly ip: string,
    private readonly released: (stream: EngineStream) => void,
  ) {}

  /** Always 0: the backlog lives in the engine (its `backlogBytes` counter), which applies the caps. */
  get bufferedBytes(): number {
    return 0;
  }

  /** The engine copies the bytes before it returns, so the caller may reuse them; one call is one WebSocket message. */
  write(data: Uint8Array): void {
    if (this.open) this.engine.send(this.conn, data);
  }

  /** Nothing to do: the engine writes what `send` queued once per loop turn. */
  flush(): void {}

  /** The relay's shutdown path: the engine flushes what is queued (a WebSocket peer gets 1000), then closes. */
  end(): void {
    this.close(SHUTDOWN_CODE, true);
  }

  /** Close at once: what is queued is dropped (a WebSocket peer gets no close frame), as a socket's destroy. */
  destroy(): void {
    this.close(SHUTDOWN_CODE);
  }

  /**
   * Close with the engine's reason `code` (unless the engine closed it already), then `finish`.
   * `graceful`: flush what is queued first (only the shutdown does, as on the Node engine).
   */
  close(code: number, graceful = false): void {
    if (!this.open) return;
    if (!this.engineClosed) this.engine.close(this.conn, code, graceful);
    this.finish(true);
  }

  /** Mark it closed and tell the relay (once), as a socket's close would. */
  finish(clean: boolean): void {
    if (!this.open) return;
    this.open = false;
    this.released(this);
    this.onClose({ clean });
  }
}
