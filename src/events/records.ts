/**
 * What an EventClient keeps for the application to poll (neteria.md §7.2): rollbacks,
 * confirmations and notifications, each bounded by `maxRecords` (the oldest dropped and
 * counted), and the window of NOTIFY ids that delivers each notification once (§8, K3).
 */
import type { ClientContext, Rollback, RollbackReason, SentEvent } from './client-types.js';
import * as msg from './messages.js';

/** One per client: fills the collections the client exposes. */
export class Records {
  /** Insertion-ordered set of NOTIFY ids seen, bounded by notifyDedupWindow. */
  private readonly seenNotifies = new Set<string>();

  /**
   * @param ctx the client's shared state
   * @param rollbacks the client's `rollbacks`, filled here
   * @param confirmations the client's `confirmations`
   * @param notifies the client's `notifies`
   */
  constructor(
    private readonly ctx: ClientContext,
    private readonly rollbacks: Rollback[],
    private readonly confirmations: SentEvent[],
    private readonly notifies: Map<string, unknown>,
  ) {}

  /** A NOTIFY from our server (neteria.md §8): ack it, and deliver it unless its id was seen. */
  onNotify(euuid: string, data: unknown): void {
    // §8: answer every copy; deliver each id once.
    this.ctx.sendToServer(msg.okNotify(this.ctx.id, euuid));
    if (this.seenNotifies.has(euuid)) {
      this.ctx.stats.duplicateNotifies++;
      return;
    }
    this.seenNotifies.add(euuid);
    if (this.seenNotifies.size > this.ctx.opts.notifyDedupWindow) {
      this.seenNotifies.delete(this.seenNotifies.values().next().value as string);
    }
    this.ctx.stats.notifies++;
    this.notifies.set(euuid, data);
    if (this.notifies.size > this.ctx.opts.maxRecords) {
      this.notifies.delete(this.notifies.keys().next().value as string);
      this.ctx.stats.recordsDropped++;
    }
    this.ctx.log.guard(() => this.ctx.hooks.onNotify?.(data, euuid));
  }

  /** Record an event to undo (§7.2, K2). */
  addRollback(event: SentEvent, reason: RollbackReason): void {
    this.pushRecord(this.rollbacks, { ...event, reason });
  }

  /** Record a high-priority event judged LEGAL (§7.2). */
  addConfirmation(event: SentEvent): void {
    this.pushRecord(this.confirmations, event);
  }

  private pushRecord<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > this.ctx.opts.maxRecords) {
      list.shift();
      this.ctx.stats.recordsDropped++;
    }
  }
}
