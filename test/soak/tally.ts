/**
 * Counters of one soak run, shared by every load component: what good clients checked, what
 * hostile peers did, and what the servers reported. Reasons are normalised (digits → N, cut to
 * 80 characters) so a report groups them.
 */

/** Add one to `counts[reason]` (normalised). */
export function bump(counts: Record<string, number>, reason: string, by = 1): void {
  const key = normaliseReason(reason);
  counts[key] = (counts[key] ?? 0) + by;
}

/** Digits become N, whitespace collapses, at most 80 characters: one key per kind of reason. */
export function normaliseReason(reason: string): string {
  return reason.replace(/\d+/g, 'N').replace(/\s+/g, ' ').trim().slice(0, 80);
}

/** Everything a soak counts. Components add to it; the report reads it. */
export class Tally {
  /** Messages (or stream segments) of good clients received and verified byte for byte. */
  messagesChecked = 0;
  /** Bytes of good clients' payloads verified. */
  bytesChecked = 0;
  /** Bytes good clients sent over reliable transports (relay, mm). */
  reliableBytesSent = 0;
  /** Bytes good clients sent over reliable transports that never arrived intact. */
  goodBytesLost = 0;
  /** Received good data that did not match what was sent (any style): must stay 0. */
  corrupt = 0;
  /** Invariant breaks seen by a checker (wrong verdict, duplicate delivery, spoof judged...). */
  readonly violations: string[] = [];
  /** Hostile peers started, in total and by kind (`style:kind`). */
  hostilePeers = 0;
  readonly hostileByKind: Record<string, number> = {};
  /** Errors reported by the servers (error events, callbacks, logs), by `style: reason`. */
  readonly errors: Record<string, number> = {};
  /** Peers the servers dropped, by `style: reason`. */
  readonly dropped: Record<string, number> = {};
  /** Figures of each style that are not counts of the above (datagrams, verdicts, stalls...). */
  readonly figures: Record<string, number> = {};
  /** Uncaught exceptions and unhandled rejections. */
  readonly crashes: string[] = [];
  /** Facts of the run the report shows as they are (the relay engine that ran, what was left out). */
  readonly notes: Record<string, string> = {};

  hostile(kind: string): void {
    this.hostilePeers++;
    this.hostileByKind[kind] = (this.hostileByKind[kind] ?? 0) + 1;
  }

  error(style: string, reason: string, by = 1): void {
    bump(this.errors, `${style}: ${reason}`, by);
  }

  drop(style: string, reason: string, by = 1): void {
    bump(this.dropped, `${style}: ${reason}`, by);
  }

  figure(name: string, by = 1): void {
    this.figures[name] = (this.figures[name] ?? 0) + by;
  }

  note(name: string, value: string): void {
    this.notes[name] = value;
  }

  violation(text: string): void {
    if (this.violations.length < 100) this.violations.push(text);
    else this.figure('violations not listed');
  }

  checked(bytes: number, messages = 1): void {
    this.messagesChecked += messages;
    this.bytesChecked += bytes;
  }
}
