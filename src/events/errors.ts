/**
 * Errors the events style hands to the application (as promise rejections and callback
 * arguments). `code` is stable; `reason` is for people.
 */

/** Stable codes of EventsError. */
export type EventsErrorCode =
  /** No judgement arrived after the first send and every retry (neteria.md §9, K2). */
  | 'GW_ERR_EVENT_TIMEOUT'
  /** The client is not registered, or the server answered BYE EVENT. */
  | 'GW_ERR_NOT_REGISTERED'
  /** The server answered BYE REGISTER (registry full, or version / encryption refused). */
  | 'GW_ERR_REGISTER_REJECTED'
  /** No OK REGISTER arrived after the first send and every retry. */
  | 'GW_ERR_REGISTER_TIMEOUT'
  /** `event()` while MAX_PENDING_EVENTS_COUNT events await their judgement. */
  | 'GW_ERR_TOO_MANY_PENDING'
  /** The client or server was closed while the operation was under way. */
  | 'GW_ERR_CLOSED';

/** An outcome of the network delivered to the application; never thrown from a socket handler. */
export class EventsError extends Error {
  readonly code: EventsErrorCode;
  readonly reason: string;

  constructor(code: EventsErrorCode, reason: string) {
    super(reason);
    this.name = 'EventsError';
    this.code = code;
    this.reason = reason;
  }
}
