/**
 * Debug logging for the events style. Dropped input is logged at most
 * DROP_LOG_LINES_PER_SECOND lines per second (K8); the lines held back are counted and the
 * count is reported with the next line that gets through.
 */
import { DROP_LOG_LINES_PER_SECOND } from './limits.js';

/** A sink for one debug line. */
export type DebugLog = (line: string) => void;

/** The default sink: stderr when `DEBUG` mentions gamewire, else nothing. */
export function defaultDebugLog(): DebugLog | undefined {
  if (!process.env.DEBUG?.includes('gamewire')) return undefined;
  return (line) => process.stderr.write(`gamewire:events ${line}\n`);
}

/** Rate-limited wrapper around a DebugLog. */
export class RateLimitedLog {
  private windowStart = 0;
  private linesInWindow = 0;
  private suppressed = 0;

  /**
   * @param sink where lines go; undefined logs nothing (and costs nothing).
   * @param linesPerSecond lines let through per second, default DROP_LOG_LINES_PER_SECOND.
   */
  constructor(
    private readonly sink: DebugLog | undefined,
    private readonly linesPerSecond: number = DROP_LOG_LINES_PER_SECOND,
  ) {}

  /** Log a line built lazily, so a disabled or saturated log costs no string building. */
  line(build: () => string): void {
    if (!this.sink) return;
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= this.linesPerSecond) {
      this.suppressed++;
      return;
    }
    this.linesInWindow++;
    const held = this.suppressed;
    this.suppressed = 0;
    try {
      this.sink(held > 0 ? `${build()} (${held} similar lines suppressed)` : build());
    } catch {
      // A throwing sink must not take the socket handler down with it.
    }
  }

  /**
   * Run an application callback from a socket handler. A throw is logged and swallowed: an
   * application callback that throws must not break the socket handler (K8).
   */
  guard(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.line(() => `application callback threw: ${(err as Error)?.message ?? String(err)}`);
    }
  }
}
