/**
 * Why a joint or a user went away, or why a create/enter failed (joint.md §14).
 * The numeric values are the original's and travel on the wire as reason bytes 0 and 1.
 */
import { createErrorReason, enterErrorReason } from '../joint/client-connection.js';

export const Reason = {
  /**
   * The peer explicitly left (cmd 2) or deleted the joint (cmd 3); also "the relay could not be
   * reached" (as peote-net reports a failed TCP connect), then with a `cause` Error.
   */
  DISCONNECT: 0,
  /** The peer's socket closed or errored; also our own socket closing. */
  CLOSE: 1,
  /** The user was kicked by the owner (gamewire relay extension, joint.md §17). */
  KICK: 2,
  /** The joint id is taken, unknown, or already entered. */
  ID: 10,
  /** The joint already has 256 users. */
  FULL: 11,
  /** 128 own or entered joints on this connection. */
  MAX: 12,
  /** Malformed or unexpected data from the peer (RPC decode errors, protocol errors). */
  MALICIOUS: 20,
  /**
   * The name of a reason value, e.g. `Reason.toString(1) === 'CLOSE'`.
   */
  toString(reason: number): string {
    return REASON_NAMES.get(reason) ?? `UNKNOWN(${reason})`;
  },
  /**
   * What the reason means, for people ("connection closed or lost", ...). Give the `cause` an
   * onError / onDisconnect callback received to get the reason with its cause, e.g.
   * `relay unreachable: connect to 127.0.0.1:7680 failed: connect ECONNREFUSED 127.0.0.1:7680`.
   */
  describe(reason: number, cause?: Error): string {
    if (cause) return `${reason === 0 ? 'relay unreachable' : (REASON_TEXT.get(reason) ?? `unknown reason ${reason}`)}: ${cause.message}`;
    return REASON_TEXT.get(reason) ?? `unknown reason ${reason}`;
  },
} as const;

/** A reason value. */
export type Reason = 0 | 1 | 2 | 10 | 11 | 12 | 20;

const REASON_NAMES = new Map<number, string>([
  [0, 'DISCONNECT'],
  [1, 'CLOSE'],
  [2, 'KICK'],
  [10, 'ID'],
  [11, 'FULL'],
  [12, 'MAX'],
  [20, 'MALICIOUS'],
]);

const REASON_TEXT = new Map<number, string>([
  [0, 'left or deleted explicitly, or the relay could not be reached'],
  [1, 'connection closed or lost'],
  [2, 'kicked by the owner'],
  [10, 'joint id taken, unknown or already entered'],
  [11, 'joint full'],
  [12, 'too many joints on this connection'],
  [20, 'malformed or malicious data'],
]);

/** The Reason for a create-joint error reply (joint.md §3.1); the joint client's mapping, whose values are Reasons. */
export function reasonForCreateError(err: number): Reason {
  return createErrorReason(err) as Reason;
}

/** The Reason for an enter-joint error reply (joint.md §3.1); err 2 (own joint) and unknown codes are MALICIOUS. */
export function reasonForEnterError(err: number): Reason {
  return enterErrorReason(err) as Reason;
}
