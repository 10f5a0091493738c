/**
 * One peer of the relay: its joint numbering (it *is* a JointEndpoint, so the joint tables point
 * straight at it), its stream, its parser, its outbox and its limits.
 */
import { createJointParser, JointDirection, type JointParser } from '../core/index.js';
import { JointEndpoint } from '../joint/relay-state.js';
import type { ByteStream } from '../transport/types.js';
import { PARSER_UNITS_PER_FEED } from './limits.js';
import { Outbox } from './outbox.js';
import type { TokenBucket } from './token-bucket.js';

export class RelayConnection extends JointEndpoint {
  /** The joint byte stream parser (joint.md §2.1), native when the loader picked it. */
  readonly parser: JointParser;
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
    this.parser = createJointParser({ direction: JointDirection.ToRelay, maxUnits: PARSER_UNITS_PER_FEED });
    this.outbox = new Outbox(stream.kind === 'websocket');
  }
}
