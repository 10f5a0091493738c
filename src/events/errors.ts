/**
 * Errors the events style hands to the application (as promise rejections and callback
 * arguments). `code` is stable; `reason` is for people.
 */
import { GamewireError, type GamewireErrorCode } from '../core/errors.js';

/** Stable codes of EventsError (docs/errors.md). */
export type EventsErrorCode = (typeof GamewireErrorCode)[
  'EventTimeout' | 'NotRegistered' | 'RegisterRejected' | 'RegisterTimeout' | 'TooManyPending' | 'Closed'
];

/** An outcome of the network delivered to the application; never thrown from a socket handler. */
export class EventsError extends GamewireError {
  declare readonly code: EventsErrorCode;

  constructor(code: EventsErrorCode, reason: string) {
    super(code, reason);
    this.name = 'EventsError';
  }
}
