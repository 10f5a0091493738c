/**
 * What the joint client connection tells its users (joint.md §3.1, §4, §14): the Reason values of
 * its outcomes, the mapping of create and enter error replies to them, the listener interfaces of
 * owned and entered joints, and the Error of a connection that could not be opened.
 * Browser-safe: no imports.
 */

/**
 * Outcome codes the connection reports to its users. The values are the peote Reason values
 * (joint.md §14), so the peote layer passes them on unchanged.
 */
export const ClientReason = {
  /** Wire reason 0; also "the connection could not be opened". */
  Disconnect: 0,
  /** Wire reason 1; also our own connection closed or failed. */
  Close: 1,
  Kick: 2,
  Id: 10,
  Full: 11,
  Max: 12,
  /** An error code we do not know, enter err 2, or a protocol error by the relay. */
  Malicious: 20,
} as const;

/** The Reason for a create-joint error reply (joint.md §3.1). */
export function createErrorReason(err: number): number {
  if (err === 2) return ClientReason.Id;
  if (err === 1) return ClientReason.Max;
  return ClientReason.Malicious;
}

/** The Reason for an enter-joint error reply (joint.md §3.1). */
export function enterErrorReason(err: number): number {
  switch (err) {
    case 1:
    case 3:
      return ClientReason.Id;
    case 4:
      return ClientReason.Full;
    case 5:
      return ClientReason.Max;
    default:
      return ClientReason.Malicious; // err 2 (own joint) and unknown codes: the original's default branch
  }
}

/** Receives what happens to a joint this connection owns. */
export interface OwnJointListener {
  /** userConnect: `userNr` entered. */
  userConnect(userNr: number): void;
  /** userDisconnect: `userNr` left (wire reason 0), its connection closed (1), or it was kicked (2). */
  userDisconnect(userNr: number, reason: number): void;
  /** A piece of data from `userNr`, borrowed for the duration of the call. */
  data(userNr: number, bytes: Uint8Array, offset: number, length: number): void;
  /**
   * The connection is gone (ClientReason.Close, or Malicious after a protocol error). `cause`
   * says why when it is known: the socket error, or the protocol error found.
   */
  closed(reason: number, cause?: Error): void;
}

/** Receives what happens to a joint this connection has entered. */
export interface InJointListener {
  /** A piece of data from the owner, borrowed for the duration of the call. */
  data(bytes: Uint8Array, offset: number, length: number): void;
  /** inDisconnect: the owner deleted the joint (wire reason 0) or its connection closed (1). */
  gone(reason: number): void;
  /** The connection is gone (ClientReason.Close, or Malicious after a protocol error), with its `cause` when known. */
  closed(reason: number, cause?: Error): void;
}

/**
 * Called with the reply to a create or an enter: `reason` null and the number, or a Reason.
 * When the connection failed, `cause` carries why (e.g. `connect to 127.0.0.1:7680 failed:
 * connect ECONNREFUSED 127.0.0.1:7680`), so "could not reach the relay" is not read as "left".
 */
export type ReplyCallback = (reason: number | null, nr: number, cause?: Error) => void;

/**
 * The Error for a connection to `host:port` that could not be opened, keeping the socket
 * error's `code` (ECONNREFUSED, ENOTFOUND, ...) and the original as `cause`.
 */
export function connectError(host: string, port: number, err: unknown): Error {
  const detail = err instanceof Error ? err.message : String(err);
  const message = detail.startsWith('connect to ') ? detail : `connect to ${host}:${port} failed: ${detail}`;
  const error = new Error(message, { cause: err }) as Error & { code?: string };
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') error.code = code;
  return error;
}
