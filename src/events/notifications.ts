/**
 * Notifications (neteria.md §8, K2): NOTIFY pushes the application sends to a registered client,
 * resent every retry timeout until OK NOTIFY, at most `maxRetries` times, then reported failed.
 * NOTIFY is the one datagram not paid from reply credit (the application decides to send it),
 * but its resends, like every resend, go only to a client that proved its address.
 */
import { Uuid1Generator } from './ids.js';
import { MAX_DATAGRAM_BYTES } from './limits.js';
import * as msg from './messages.js';
import type { Registry } from './registry.js';
import type { ReplyCredit } from './reply-credit.js';
import type { PendingNotify, Registration, ServerContext } from './server-types.js';

/** One per server: the notifications awaiting OK NOTIFY, by event id. */
export class Notifications {
  private readonly uuids = new Uuid1Generator();
  private readonly notifies = new Map<string, PendingNotify>();

  /**
   * @param ctx the server's shared state
   * @param registry where a resend finds the client's current address
   * @param replies sends the NOTIFY
   */
  constructor(
    private readonly ctx: ServerContext,
    private readonly registry: Registry,
    private readonly replies: ReplyCredit,
  ) {}

  /**
   * Push `data` to `rec` (EventServer.notify(), which checked that the server listens).
   * @returns the NOTIFY's event id.
   * @throws {TypeError} when `data` is not JSON-serialisable; {RangeError} when the datagram
   *   would exceed 10240 bytes or `maxPendingNotifies` are outstanding.
   */
  notify(rec: Registration, clientId: string, data: unknown): string {
    const euuid = this.uuids.next();
    const text = msg.notify(msg.dataJson(data), euuid);
    if (text.length > MAX_DATAGRAM_BYTES) {
      throw new RangeError(`NOTIFY datagram of ${text.length} bytes exceeds ${MAX_DATAGRAM_BYTES}`);
    }
    if (this.notifies.size >= this.ctx.opts.maxPendingNotifies) {
      throw new RangeError(`${this.notifies.size} notifications await OK NOTIFY (maxPendingNotifies)`);
    }
    const pending: PendingNotify = { clientId, data, text, retries: 0, timer: undefined };
    this.notifies.set(euuid, pending);
    this.replies.send(text, rec);
    this.ctx.stats.notifiesSent++;
    pending.timer = setTimeout(() => this.resendNotify(euuid, pending), this.ctx.opts.retryTimeoutMs);
    return euuid;
  }

  /** OK NOTIFY from `rec`'s registered address: `euuid` was delivered. */
  acked(rec: Registration, euuid: string): void {
    const p = this.notifies.get(euuid);
    if (p && p.clientId === rec.id) {
      rec.proven = true;
      clearTimeout(p.timer);
      this.notifies.delete(euuid);
      this.ctx.log.guard(() => this.ctx.hooks.onNotifyDelivered?.(rec.id, euuid, p.data));
    }
  }

  /** Fail every notification of a registration that was removed (K2: its client expired first). */
  failAllOf(clientId: string): void {
    for (const [euuid, p] of this.notifies) {
      if (p.clientId === clientId) this.failNotify(euuid, p);
    }
  }

  /** Cancel every resend and forget every notification, reporting none (close()). */
  clear(): void {
    for (const p of this.notifies.values()) clearTimeout(p.timer);
    this.notifies.clear();
  }

  private resendNotify(euuid: string, p: PendingNotify): void {
    p.timer = undefined;
    if (!this.ctx.listening || this.notifies.get(euuid) !== p) return;
    const rec = this.registry.get(p.clientId);
    if (!rec || ++p.retries > this.ctx.opts.maxRetries) {
      this.failNotify(euuid, p);
      return;
    }
    if (!rec.proven) this.ctx.stats.resendsWithheld++;
    else {
      this.ctx.stats.notifyResends++;
      this.replies.send(p.text, rec);
    }
    p.timer = setTimeout(() => this.resendNotify(euuid, p), this.ctx.opts.retryTimeoutMs);
  }

  private failNotify(euuid: string, p: PendingNotify): void {
    clearTimeout(p.timer);
    this.notifies.delete(euuid);
    this.ctx.stats.notifiesFailed++;
    this.ctx.log.guard(() => this.ctx.hooks.onNotifyFailed?.(p.clientId, euuid, p.data));
  }
}
