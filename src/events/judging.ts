/**
 * Judging events (neteria.md §7, §9, K1): the middleware judges each (client, event id) once,
 * LEGAL or ILLEGAL; the verdict answers the EVENT, is resent until OK EVENT, and a duplicate is
 * answered from the window of recent ids without judging again. A legal event is then executed.
 */
import type { PeerAddress } from './endpoint.js';
import { MAX_DATAGRAM_BYTES } from './limits.js';
import * as msg from './messages.js';
import type { Registry } from './registry.js';
import type { ReplyCredit } from './reply-credit.js';
import type { Judged, Middleware, Registration, ServerContext } from './server-types.js';

/** One per server: runs the middleware and keeps each client's window of judged ids. */
export class Judging {
  /**
   * @param ctx the server's shared state
   * @param middleware the game's rules
   * @param registry whose registration a late verdict or resend must still belong to
   * @param replies pays verdicts from the destination's reply credit
   */
  constructor(
    private readonly ctx: ServerContext,
    private readonly middleware: Middleware,
    private readonly registry: Registry,
    private readonly replies: ReplyCredit,
  ) {}

  /** An EVENT from `rec`'s registered address (neteria.md §7.1): judge it once, answer every copy. */
  onEvent(rec: Registration, euuid: string, data: unknown, priority: string, from: PeerAddress, now: number): void {
    const seen = rec.judged.get(euuid);
    if (seen) {
      // K1 / §9: never judge or execute twice. Still judging: the judgement will be sent when
      // ready. Judged: answer at once with the stored judgement (the original stays silent).
      this.ctx.stats.duplicates++;
      if (seen.legal !== undefined) this.replies.reply(msg.judgement(seen.legal ? 'LEGAL' : 'ILLEGAL', euuid, seen.priority), from, rec.credit);
      return;
    }
    // An id whose judgement could not be sent within the datagram limit (escaping makes
    // non-ASCII ids up to 6x longer) is dropped unjudged rather than judged and never answered.
    if (msg.judgement('ILLEGAL', euuid, priority).length > MAX_DATAGRAM_BYTES) {
      this.ctx.drop(from, `EVENT whose judgement would exceed ${MAX_DATAGRAM_BYTES} bytes`);
      return;
    }
    this.prune(rec, now);
    if (rec.judged.size >= this.ctx.opts.recentEventWindow) {
      this.ctx.stats.windowFull++;
      this.ctx.drop(from, `window of ${rec.judged.size} recent event ids full for ${rec.id}`);
      return;
    }
    const j: Judged = { legal: undefined, priority, at: now, retries: 0, acked: false, timer: undefined };
    rec.judged.set(euuid, j);
    let verdict: boolean | Promise<boolean>;
    try {
      verdict = this.middleware.judge(rec.id, euuid, data);
    } catch (err) {
      this.ctx.reportError(err, `judge threw for event ${euuid}; judged ILLEGAL`);
      verdict = false;
    }
    if (isThenable(verdict)) {
      verdict.then(
        (v) => this.judged(rec, euuid, j, v === true, data, from),
        (err: unknown) => {
          this.ctx.reportError(err, `judge rejected for event ${euuid}; judged ILLEGAL`);
          this.judged(rec, euuid, j, false, data, from);
        },
      );
    } else {
      this.judged(rec, euuid, j, verdict === true, data, from);
    }
  }

  private judged(rec: Registration, euuid: string, j: Judged, legal: boolean, data: unknown, from: PeerAddress): void {
    // An asynchronous judge may finish after close() or after the registration expired.
    if (!this.ctx.listening || this.registry.get(rec.id) !== rec) return;
    j.legal = legal;
    this.ctx.stats.judged++;
    if (legal) this.ctx.stats.legal++;
    else this.ctx.stats.illegal++;
    const text = msg.judgement(legal ? 'LEGAL' : 'ILLEGAL', euuid, j.priority);
    // §4: the first judgement answers the datagram's source; resends go to the registration.
    this.replies.reply(text, from, this.replies.creditFor(rec.id, from));
    j.timer = setTimeout(() => this.resendJudgement(rec, j, text), this.ctx.opts.retryTimeoutMs);
    if (legal && this.middleware.execute) this.execute(rec.id, euuid, data);
  }

  private execute(clientId: string, euuid: string, data: unknown): void {
    try {
      const done = this.middleware.execute!(clientId, euuid, data);
      if (isThenable(done)) done.then(undefined, (err: unknown) => this.ctx.reportError(err, `execute rejected for event ${euuid}`));
    } catch (err) {
      this.ctx.reportError(err, `execute threw for event ${euuid}`);
    }
  }

  /** OK EVENT from `rec`'s registered address: stop resending the verdict of `euuid`. */
  acked(rec: Registration, euuid: string): void {
    const j = rec.judged.get(euuid);
    // Proof: it acknowledged a verdict that was sent to its address.
    if (j && j.legal !== undefined) rec.proven = true;
    if (j && !j.acked) {
      j.acked = true;
      clearTimeout(j.timer);
      j.timer = undefined;
    }
  }

  private resendJudgement(rec: Registration, j: Judged, text: string): void {
    j.timer = undefined;
    if (j.acked || !this.ctx.listening || this.registry.get(rec.id) !== rec) return;
    if (++j.retries > this.ctx.opts.maxRetries) {
      this.ctx.stats.judgementsUnacked++;
      return; // the id stays in the window, so a late duplicate is still answered (K1)
    }
    // Resends only to a client that showed it receives at its address (issue 14 item 4); the
    // schedule runs on, so a client that proves itself meanwhile gets the later ones.
    if (!rec.proven) this.ctx.stats.resendsWithheld++;
    else if (this.replies.reply(text, rec, rec.credit)) this.ctx.stats.judgementResends++;
    j.timer = setTimeout(() => this.resendJudgement(rec, j, text), this.ctx.opts.retryTimeoutMs);
  }

  /** Forget judged ids older than the retention time (the window is in arrival order). */
  private prune(rec: Registration, now: number): void {
    for (const [id, j] of rec.judged) {
      if (now - j.at < this.ctx.opts.judgedRetentionMs || j.legal === undefined || j.timer !== undefined) break;
      rec.judged.delete(id);
    }
  }
}

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}
