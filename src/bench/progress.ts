/**
 * The live progress line of `gamewire bench`: elapsed time, frames/s and the current p99,
 * rewritten in place once a second and cleared before the report. Drawn only on a terminal: in
 * a pipe or a file the line would be a smear of carriage returns, so there it writes nothing.
 */
import { formatCount, formatMs } from './report.js';
import type { BenchProgress } from './types.js';

/** What the progress line writes to: a stream that may be a TTY (process.stderr). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  /** Terminal width in characters, when known. */
  readonly columns?: number;
  write(text: string): unknown;
}

/** The progress line of one command. */
export interface ProgressLine {
  /** True when it draws anything (a TTY, and not turned off). */
  readonly live: boolean;
  /** Shows what is happening before the measured period (connecting, warm-up, round 2 of 6). */
  status(text: string): void;
  /** Shows a progress snapshot (BenchOptions.onProgress). */
  update(progress: BenchProgress): void;
  /** Erases the line; after this the stream is as if nothing had been drawn. */
  clear(): void;
}

// Carriage return, then erase to the end of the line (ECMA-48 EL 0): the new text replaces the old.
const REWRITE = '\r\u001b[K';

/** The text of one snapshot, e.g. `3 s  412,345 frames/s  p99 1.24 ms`. */
export function formatProgress(progress: BenchProgress): string {
  return `${Math.floor(progress.elapsedSec)} s  ${formatCount(progress.framesPerSec)} frames/s  p99 ${formatMs(progress.p99Ms)} ms`;
}

/**
 * A progress line on `stream`.
 * @param stream where to draw (the CLI: process.stderr, so stdout keeps only the report)
 * @param enabled false for `--no-progress`; default true. On a stream that is not a TTY nothing
 * is drawn either way.
 */
export function createProgress(stream: ProgressStream, enabled = true): ProgressLine {
  const live = enabled && stream.isTTY === true;
  let prefix = '';
  let drawn = false;
  const draw = (text: string) => {
    if (!live) return;
    const width = stream.columns && stream.columns > 1 ? stream.columns - 1 : Infinity;
    // A line longer than the terminal wraps, and \r then rewrites only its last row.
    stream.write(REWRITE + (text.length > width ? text.slice(0, width) : text));
    drawn = true;
  };
  return {
    live,
    status(text) {
      prefix = text;
      draw(text);
    },
    update(progress) {
      draw(prefix === '' ? formatProgress(progress) : `${prefix}  ${formatProgress(progress)}`);
    },
    clear() {
      if (live && drawn) stream.write(REWRITE);
      drawn = false;
    },
  };
}
