/**
 * One peer of the relay: its joint numbering (it *is* a JointEndpoint, so the joint tables point
 * straight at it), its stream, its parser, its outbox and its limits.
 */
import type { JointParser } from '../core/index.js';
import { JointEndpoint } from '../joint/relay-state.js';
import type { ByteStream } from '../transport/types.js';
import { Outbox } from './outbox.js';
import type { DisconnectReason } from './stats.js';
import type { TokenBucket } from './token-bucket.js';

/**
 * Close `conn` with the full cleanup of joint.md §6.3 (the relay's `drop`): handed to the parts of
 * the relay that may end a connection (a protocol error, a budget, a slow reader).
 */
export type DropConnection = (conn: RelayConnection, reason: DisconnectReason, detail?: string) => void;

/** A command held back behind one that waits for the cluster; `payload` is a copy. */
export interface QueuedCommand {
  cmd: number;
  cmdNr: number;
  payload: Buffer;
}

export class RelayConnection extends JointEndpoint {
  /**
   * The joint byte stream parser (joint.md §2.1), native when the loader picked it; lent by the
   * relay while the connection talks and given back once it has been silent at a unit boundary,
   * so an idle connection holds none (issue 13).
   */
  parser: JointParser | null = null;
  /** The last read ended at a unit boundary: the parser holds nothing and may be given back. */
  parserIdle = true;
  readonly outbox: Outbox;
  /** True once closed and cleaned up; nothing is sent to or read from it afterwards. */
  closed = false;
  /** Queued in the relay's dirty list for the next flush. */
  dirty = false;
  /** `JointState.sequence` when the frame being received began (users who entered later get none of it). */
  frameSeq = 0;
  /** When the relay last sent it anything (ms); keepalive is armed once this is set (joint.md §7). */
  lastSendMs = 0;
  /** When it last sent the relay anything (ms); the idle timeout counts from here. */
  lastReceiveMs = Date.now();
  /** Set when the relay has sent it anything: keepalive is armed from then on. */
  keepaliveArmed = false;
  /** While throttled (inbound rate): the timer that resumes reading. */
  throttleTimer: NodeJS.Timeout | null = null;
  /** When the current throttle ends (ms). */
  throttleUntil = 0;
  /** Why reading is paused now: a set of `PauseCause` bits (backpressure.ts); the socket reads while it is 0. */
  pausedBy = 0;
  /** Congested peers this connection was paused for and that have not released it yet. */
  waitingOn = 0;
  /**
   * Senders paused until this peer's backlog is back at the low-water mark; null while none, so
   * an idle peer holds no set.
   */
  waiters: Set<RelayConnection> | null = null;
  /** Queued user → owner data during the current read; checked for congestion after the flush. */
  fed = false;
  /** It has sent a command (the first needs no budget; see `Commands.admit`). */
  commandSeen = false;
  /** Its command budget (`commandsPerSec`), made at its second command. */
  commandBucket: TokenBucket | null = null;
  /** When its backlog last made progress or began (ms); the stall timeout counts from here. */
  progressMs = 0;
  /**
   * Cluster only: commands read while one of its commands waits for the cluster (a create's
   * claim, a cross-node enter), run in order once it is answered; null while none waits.
   */
  cmdQueue: QueuedCommand[] | null = null;
  /** False: a socket here (the cluster's remote endpoints say true; kept on the prototype). */
  declare readonly remote: boolean;

  constructor(
    /** Per-relay connection number, for logs. */
    readonly id: number,
    readonly stream: ByteStream,
    maxOwnJoints: number,
    maxInJoints: number,
    /** Inbound byte budget, or null when unlimited. */
    readonly bytesBucket: TokenBucket | null,
    /** Inbound unit budget, or null when unlimited. */
    readonly unitsBucket: TokenBucket | null,
  ) {
    super(maxOwnJoints, maxInJoints);
    this.outbox = new Outbox(stream.kind === 'websocket');
  }
}

// On the prototype, not per connection: an idle connection pays nothing for it (issue 13).
Object.defineProperty(RelayConnection.prototype, 'remote', { value: false });
