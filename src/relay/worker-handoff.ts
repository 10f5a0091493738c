/**
 * `gamewire relay --workers N`: moving a connection to the worker that owns the joint it enters
 * (issue 18, docs/cluster.md §12). node:cluster deals connections round-robin, so about half of a
 * joint's users land on a worker that does not own it, and every frame of theirs would cross NATS
 * between two processes of one machine. When a raw-TCP connection's first state-making command is
 * an enter of a joint that a sibling worker owns, this worker hands the socket over instead:
 *
 * ```
 *   worker k                         primary                         worker j (owner)
 *   enter(id) → owner is <base>-w<j>
 *   stop reading the socket, drop the connection here (nothing was answered or held)
 *   HANDOFF {id, to: j, bytes} + fd ──▶ ADOPT {id, bytes} + fd ──────▶ adopt as if accepted,
 *                                                                     `bytes` first (the enter…)
 *   close this copy of the fd      ◀── RESULT {ok} ◀───────────────── RESULT {ok}
 * ```
 *
 * `bytes` are the read's bytes from the enter command on: everything before it was run here,
 * everything after it was read but not run, and the kernel keeps the rest for worker j, since
 * this worker stops reading the socket before it lets go. No byte is lost or duplicated and their
 * order is kept. This worker keeps its copy of the socket until the result: a refusal (worker
 * gone, its relay not listening, its admission caps) gives it back to this relay as a fresh
 * connection with the same bytes, which then takes today's cross-node path. No result within
 * `WORKER_HANDOFF_TIMEOUT_MS` (limits.ts): this copy is closed and nothing else happens here (the adopter may
 * hold it; it is never read by two).
 *
 * Both engines hand over and adopt, either way round (docs/native-engine.md "Handover"): the Node
 * engine gives up its net.Socket (`TcpStream.detach`) and adopts one (`adoptSocket`); the native
 * engine gives up a descriptor and its held input (`engine.detach`, wrapped here in a paused
 * net.Socket to travel) and adopts a duplicate of the descriptor it is sent (`engine.adopt`), the
 * received handle then closed here. Each side's copy of the descriptor is closed once, by the
 * side: the handing worker's at the result, the primary's once sent, the adopter's (native) at
 * once. The native engine is registered here by its relay (`useEngine`).
 *
 * Not moved: WebSocket connections (their bytes are inside the ws library's framing; they stay on
 * the cross-node path), connections that own or are in a joint or have a command waiting or output
 * unsent, a connection that was handed over once already, and an enter whose owner is not in this
 * node's directory mirror (the enter then goes the cross-node way).
 */
import nodeCluster, { type Worker } from 'node:cluster';
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { adoptSocket } from '../transport/stream-listener.js';
import { TcpStream } from '../transport/tcp-stream.js';
import type { ByteStream } from '../transport/types.js';
import { WORKER_HANDOFF_TIMEOUT_MS } from './limits.js';
import type { Logger } from './logger.js';

/** Handoffs of this worker so far (`gamewire_relay_worker_handoffs_total{result}`). */
export interface WorkerHandoffStats {
  /** Connections handed to a sibling worker that adopted them. */
  movedOut: number;
  /** Connections adopted from a sibling worker. */
  adopted: number;
  /** Handoffs refused (no such worker, not listening, not admitted, send failed): the connection stayed here. */
  refused: number;
  /** Handoffs unanswered within the timeout: closed here. */
  timedOut: number;
}

/** Set by the primary for its workers when it routes handoffs: without it a worker hands nothing over. */
const ROUTED_ENV = 'GAMEWIRE_RELAY_HANDOFF';
const HANDOFF = 'gamewire:handoff';
const ADOPT = 'gamewire:adopt';
const RESULT = 'gamewire:handoff-result';

/** Worker `from` → primary, with the socket's handle: please give it to worker `to`. */
interface HandoffMessage {
  type: typeof HANDOFF;
  id: number;
  from: number;
  to: number;
  /** The unconsumed bytes, base64 (the IPC channel carries JSON). */
  bytes: string;
  /** The peer's address and port (a native engine adopts a descriptor, which does not say). */
  address: string;
  port: number;
}

/** Primary → worker `to`, with the handle: adopt it. */
interface AdoptMessage {
  type: typeof ADOPT;
  id: number;
  from: number;
  bytes: string;
  address?: string;
  port?: number;
}

/**
 * A relay engine of this process that hands connections over by descriptor: the native engine
 * (src/relay/engine/native-engine.ts), registered with `useEngine`. Without one, the Node
 * engine's streams and listener are used.
 */
export interface HandoffEngine {
  /**
   * Give up `stream`'s connection: its descriptor (the caller's now) and its input not parsed
   * yet. On success the stream has reported itself closed, cleanly, to its relay.
   * @returns null when it cannot be given up whole; nothing changed then.
   */
  detach(stream: ByteStream): { fd: number; held: Buffer } | null;
  /**
   * Take connected socket `fd` (the engine takes a duplicate: the caller closes its own) as if
   * accepted here, `bytes` first, after this relay's admission.
   * @returns false when not listening, not admitted or not taken; nothing changed then.
   */
  adopt(fd: number, bytes: Buffer, remoteAddress: string, remotePort: number): boolean;
}

/** Adopter → primary → worker `from` (or the primary itself, when it cannot forward). */
interface ResultMessage {
  type: typeof RESULT;
  id: number;
  from: number;
  to: number;
  ok: boolean;
  why?: string;
}

const isMessage = <T extends { type: string }>(msg: unknown, type: T['type']): msg is T => typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === type;

/** A socket handed over and not yet answered for. */
interface Outgoing {
  socket: Socket;
  bytes: Buffer;
  to: number;
  timer: NodeJS.Timeout;
  address: string;
  port: number;
}

/** The worker's side: hands connections over, and adopts those handed to it. */
export class WorkerHandoff {
  private static instance: WorkerHandoff | null | undefined;
  private readonly outgoing = new Map<number, Outgoing>();
  private nextId = 1;
  private users = 0;
  private log: Logger | null = null;
  /** The native engine of this process's relay, else null (the Node engine's path). */
  private engine: HandoffEngine | null = null;
  /** `WORKER_HANDOFF_TIMEOUT_MS`, or `--worker-handoff-timeout-ms`. */
  timeoutMs = WORKER_HANDOFF_TIMEOUT_MS;
  readonly stats: WorkerHandoffStats = { movedOut: 0, adopted: 0, refused: 0, timedOut: 0 };
  private readonly onMessage = (msg: unknown, handle: unknown): void => {
    if (isMessage<AdoptMessage>(msg, ADOPT)) this.adopt(msg, handle);
    else if (isMessage<ResultMessage>(msg, RESULT) && msg.from === this.worker) this.settle(msg.id, msg.ok, msg.why ?? '');
  };

  private constructor(
    /** This worker's number k (its node id is `<base>-w<k>`). */
    readonly worker: number,
    /** The node id the workers' ids are made of. */
    private readonly base: string,
  ) {}

  /** This process's, when it is a worker of `gamewire relay --workers` (src/cli.ts), else null. */
  static get(): WorkerHandoff | null {
    if (WorkerHandoff.instance !== undefined) return WorkerHandoff.instance;
    const k = Number(process.env.GAMEWIRE_RELAY_WORKER ?? 0);
    const base = process.env.GAMEWIRE_RELAY_NODE_ID ?? '';
    const routed = process.env[ROUTED_ENV] === '1';
    const ok = routed && nodeCluster.isWorker && Number.isInteger(k) && k > 0 && base.length > 0 && typeof process.send === 'function';
    WorkerHandoff.instance = ok ? new WorkerHandoff(k, base) : null;
    return WorkerHandoff.instance;
  }

  /** A relay of this worker uses it: listen for the primary's messages (`release` stops). */
  retain(log: Logger): void {
    this.log = log;
    if (this.users++ === 0) process.on('message', this.onMessage);
  }

  release(): void {
    if (--this.users === 0) process.off('message', this.onMessage);
  }

  /** This worker's relay runs the native engine: hand over and adopt through it (until `dropEngine`). */
  useEngine(engine: HandoffEngine): void {
    this.engine = engine;
  }

  dropEngine(engine: HandoffEngine): void {
    if (this.engine === engine) this.engine = null;
  }

  /** The worker number of cluster node `nodeId` when it is a sibling worker of this one, else 0. */
  sibling(nodeId: string): number {
    const prefix = `${this.base}-w`;
    if (!nodeId.startsWith(prefix)) return 0;
    const tail = nodeId.slice(prefix.length);
    if (!/^[1-9][0-9]*$/.test(tail)) return 0;
    const j = Number(tail);
    return j === this.worker ? 0 : j;
  }

  /**
   * Hand `stream`'s socket to worker `to`, `bytes` first. On true the stream has reported itself
   * closed (the relay dropped its connection, which held nothing) and the socket is this module's.
   * @returns false when it cannot be handed over losslessly; nothing changed then.
   */
  offer(stream: ByteStream, to: number, bytes: Uint8Array): boolean {
    if (this.users === 0 || stream.kind !== 'tcp' || (stream as { adopted?: boolean }).adopted === true) return false;
    // Copied before the stream lets go: `bytes` is a view of the read being delivered.
    let copy = Buffer.from(bytes);
    const { remoteAddress: address, remotePort: port } = stream;
    let socket: Socket | null = null;
    if (stream instanceof TcpStream) socket = stream.detach();
    else if (this.engine !== null) {
      const got = this.engine.detach(stream);
      if (got === null) return false;
      // The engine read past the command and holds the rest of that read: it follows the command.
      copy = Buffer.concat([copy, got.held]);
      // A paused socket over the descriptor, to travel with process.send and to be closed once.
      try {
        socket = new Socket({ fd: got.fd, readable: true, writable: true, pauseOnCreate: true } as ConstructorParameters<typeof Socket>[0]);
      } catch {
        // The engine let go already: the connection is lost (as with a crash), its descriptor is not.
        closeSync(got.fd);
        return true;
      }
      socket.on('error', ignore);
    }
    if (socket === null) return false;
    const handle = (socket as unknown as { _handle: unknown })._handle;
    const id = this.nextId++;
    const timer = setTimeout(() => this.settle(id, false, 'timeout'), this.timeoutMs);
    timer.unref();
    this.outgoing.set(id, { socket, bytes: copy, to, timer, address, port });
    const msg: HandoffMessage = { type: HANDOFF, id, from: this.worker, to, bytes: copy.toString('base64'), address, port };
    // keepOpen: this copy stays ours until the answer, so a refusal can take it back.
    process.send!(msg, handle as Socket, { keepOpen: true }, (err: Error | null) => {
      if (err) this.settle(id, false, `send: ${err.message}`);
    });
    return true;
  }

  /** The answer for handoff `id`: close this copy (adopted), or take the connection back here. */
  private settle(id: number, ok: boolean, why: string): void {
    const out = this.outgoing.get(id);
    if (out === undefined) return;
    this.outgoing.delete(id);
    clearTimeout(out.timer);
    if (ok) {
      // Not end(): that would send FIN on the adopter's connection too. Closing one of the
      // descriptors of a socket leaves it open.
      out.socket.destroy();
      this.stats.movedOut++;
      this.log?.info('connection handed over', { worker: this.worker, to: out.to, bytes: out.bytes.length });
      return;
    }
    if (why === 'timeout') {
      // The adopter may have it: never read it here again.
      out.socket.destroy();
      this.stats.timedOut++;
      this.log?.warn('connection handoff unanswered; closed here', { worker: this.worker, to: out.to, timeoutMs: this.timeoutMs });
      return;
    }
    let kept: boolean;
    if (this.engine !== null) {
      kept = this.engine.adopt(descriptor(out.socket), out.bytes, out.address, out.port);
      // The engine took its own duplicate.
      out.socket.destroy();
    } else {
      kept = adoptSocket(out.socket, out.bytes);
      if (!kept) out.socket.destroy();
    }
    this.stats.refused++;
    this.log?.info('connection handoff refused; kept here', { worker: this.worker, to: out.to, why, kept });
  }

  /** ADOPT: a sibling's connection, as if accepted here. */
  private adopt(msg: AdoptMessage, handle: unknown): void {
    let ok = false;
    let why = 'no handle';
    if (handle !== undefined && handle !== null && this.engine !== null) {
      const fd = (handle as { fd?: unknown }).fd;
      ok = typeof fd === 'number' && fd >= 0 && this.engine.adopt(fd, Buffer.from(msg.bytes, 'base64'), msg.address ?? '', msg.port ?? 0);
      why = ok ? '' : 'not listening or not admitted';
      // The engine took its own duplicate; this one was never read here.
      (handle as { close?: () => void }).close?.();
    } else if (handle !== undefined && handle !== null) {
      // Not reading until the relay has it, so its first bytes come after `bytes`.
      const socket = new Socket({ handle, readable: true, writable: true, pauseOnCreate: true } as ConstructorParameters<typeof Socket>[0]);
      socket.on('error', ignore);
      ok = adoptSocket(socket, Buffer.from(msg.bytes, 'base64'));
      why = ok ? '' : 'not listening or not admitted';
      // Closes only this process's descriptor: the handing worker still holds its own.
      if (!ok) socket.destroy();
    }
    if (ok) this.stats.adopted++;
    if (ok) this.log?.info('connection adopted', { worker: this.worker, from: msg.from });
    const result: ResultMessage = { type: RESULT, id: msg.id, from: msg.from, to: this.worker, ok, ...(ok ? {} : { why }) };
    process.send!(result);
  }
}

/** This process's handoff counters (all 0 when it is not a `--workers` worker). */
export function workerHandoffStats(): WorkerHandoffStats {
  const handoff = WorkerHandoff.get();
  return handoff === null ? { movedOut: 0, adopted: 0, refused: 0, timedOut: 0 } : { ...handoff.stats };
}

/**
 * The primary's side: route HANDOFF from one worker to the worker it names, and its RESULT back.
 * `workers` is the primary's live table (worker number → Worker), read at each message, so a
 * restarted worker is reached under its number. Call it before forking: the workers learn from
 * their environment that their handoffs are routed.
 */
export function routeWorkerHandoffs(workers: ReadonlyMap<number, Worker>): void {
  process.env[ROUTED_ENV] = '1';
  nodeCluster.on('message', (sender: Worker, msg: unknown, handle: unknown) => {
    if (isMessage<ResultMessage>(msg, RESULT)) {
      // A worker between disconnect and exit: the send fails, and must not throw in the primary.
      const to = workers.get(msg.from);
      if (to?.isConnected() === true) to.send(msg, undefined, undefined, ignore);
      return;
    }
    if (!isMessage<HandoffMessage>(msg, HANDOFF)) return;
    const refuse = (why: string): void => {
      const result: ResultMessage = { type: RESULT, id: msg.id, from: msg.from, to: msg.to, ok: false, why };
      if (sender.isConnected()) sender.send(result);
    };
    const target = workers.get(msg.to);
    if (target === undefined || !target.isConnected() || handle === undefined || handle === null) {
      // The primary's copy of the descriptor goes; the sender still holds its own.
      (handle as { close?: () => void } | null | undefined)?.close?.();
      return refuse('no such worker');
    }
    const adopt: AdoptMessage = { type: ADOPT, id: msg.id, from: msg.from, bytes: msg.bytes, address: msg.address, port: msg.port };
    target.send(adopt, handle as Socket, (err: Error | null) => {
      // Node closes no raw handle it sent: the primary's copy goes once the message is written
      // (the descriptor in flight is the target's), or failed to be.
      (handle as { close?: () => void }).close?.();
      if (err) refuse(`send: ${err.message}`);
    });
  });
}

function ignore(): void {}

/** The descriptor under a socket's handle (-1 without one). */
function descriptor(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}
