/**
 * The poll loop of the mm driver and the mm bench server: the mm style hands events out only
 * when polled, so latency includes the time an event waits for its poll. The loop polls on
 * every turn of the event loop (setImmediate) while busy, and on a 1 ms timer when idle, so a
 * busy run adds no timer delay and an idle one does not spin a core (docs/bench.md).
 */
import { POLL_BUSY_GRACE_MS, POLL_IDLE_INTERVAL_MS } from './style-limits.js';

/** Polls with `poll` until stopped; see the file comment for the schedule. */
export class PollLoop {
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastBusy = 0;
  private running = false;
  private readonly turn = (): void => {
    this.immediate = null;
    this.timer = null;
    if (!this.running) return;
    const now = performance.now();
    if (this.poll() > 0 || this.busy()) this.lastBusy = now;
    if (!this.running) return;
    if (now - this.lastBusy < POLL_BUSY_GRACE_MS) this.immediate = setImmediate(this.turn);
    else this.timer = setTimeout(this.turn, POLL_IDLE_INTERVAL_MS);
  };

  /**
   * @param poll handles what is queued; returns how many events it handled
   * @param busy true while answers are expected (frames unanswered), so the loop keeps spinning
   */
  constructor(
    private readonly poll: () => number,
    private readonly busy: () => boolean = () => false,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastBusy = performance.now();
    this.immediate = setImmediate(this.turn);
  }

  /** Something was sent: poll on the next turn instead of waiting for the idle timer. */
  wake(): void {
    if (!this.running || this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.lastBusy = performance.now();
    this.immediate = setImmediate(this.turn);
  }

  stop(): void {
    this.running = false;
    if (this.immediate !== null) clearImmediate(this.immediate);
    if (this.timer !== null) clearTimeout(this.timer);
    this.immediate = null;
    this.timer = null;
  }
}
