/**
 * Events in flight (neteria.md §7, §9, K2): each EVENT awaits its judgement, resent with the
 * same id every retry timeout up to `maxRetries` times, then rolled back as timed out. A
 * judgement is acked whatever it names; BYE EVENT refuses every event in flight.
 */
import { closedError, type ClientContext, type SentEvent } from './client-types.js';
import { EventsError } from './errors.js';
import * as msg from './messages.js';
import type { Judgement } from './messages.js';
import type { Records } from './records.js';

interface Pending {
  event: SentEvent;
  fields: msg.EventFields;
  timer: NodeJS.Timeout | undefined;
  resolve: (j: Judgement) => void;
  reject: (e: EventsError) => void;
}

/** One per client: the events sent and not yet judged, by id. */
export class InFlight {
  private readonly events = new Map<string, Pending>();

  /**
   * @param ctx the client's shared state
   * @param pending the client's public `pending` (§7.2), kept in step with the events here
   * @param records where judged, timed-out and refused events are recorded
   */
  constructor(
    private readonly ctx: ClientContext,
    private readonly pending: Map<string, SentEvent>,
    private readonly records: Records,
  ) {}

  /** Events awaiting a judgement. */
  get size(): number {
    return this.events.size;
  }

  /** Send `event` (EventClient.event(), which checked it may) and await its judgement. */
  send(event: SentEvent, fields: msg.EventFields): Promise<Judgement> {
    const euuid = event.id;
    return new Promise<Judgement>((resolve, reject) => {
      const p: Pending = { event, fields, timer: undefined, resolve, reject };
      this.events.set(euuid, p);
      this.pending.set(euuid, event);
      this.ctx.stats.eventsSent++;
      this.sendEvent(p);
    });
  }

  /** LEGAL or ILLEGAL from our server (neteria.md §7.2): ack it, and settle the event if it is still in flight. */
  onJudgement(method: Judgement, euuid: string): void {
    // §7.2 / K3: ack every judgement, duplicates and unknown ids included, before anything else.
    this.ctx.sendToServer(msg.okEvent(this.ctx.id, euuid));
    const p = this.events.get(euuid);
    if (!p) {
      this.ctx.stats.lateJudgements++;
      return;
    }
    this.settle(p);
    if (method === 'LEGAL') {
      this.ctx.stats.legal++;
      if (p.event.priority === 'high') this.records.addConfirmation(p.event);
      this.ctx.log.guard(() => this.ctx.hooks.onLegal?.(p.event));
    } else {
      this.ctx.stats.illegal++;
      this.records.addRollback(p.event, 'illegal');
      this.ctx.log.guard(() => this.ctx.hooks.onIllegal?.(p.event));
    }
    p.resolve(method);
  }

  /** BYE EVENT: reject every event in flight with GW_ERR_NOT_REGISTERED and move it to rollbacks. */
  refuseAll(): void {
    for (const p of [...this.events.values()]) {
      this.settle(p);
      this.records.addRollback(p.event, 'not-registered');
      p.reject(new EventsError('GW_ERR_NOT_REGISTERED', `the server does not know this client (BYE EVENT); event ${p.event.id} refused`));
    }
  }

  /** close(): reject every pending event with GW_ERR_CLOSED, not moved to rollbacks. */
  closeAll(): void {
    for (const p of [...this.events.values()]) {
      clearTimeout(p.timer);
      this.events.delete(p.event.id);
      this.pending.delete(p.event.id);
      p.reject(closedError());
    }
  }

  private sendEvent(p: Pending): void {
    const endpoint = this.ctx.endpoint;
    const server = this.ctx.server;
    if (!endpoint || !server) return;
    endpoint.send(msg.event(p.fields, p.event.retries), server, (err) => this.ctx.reportError(err));
    p.timer = setTimeout(() => this.resendEvent(p), this.ctx.opts.retryTimeoutMs);
  }

  private resendEvent(p: Pending): void {
    p.timer = undefined;
    if (this.events.get(p.event.id) !== p) return;
    if (p.event.retries >= this.ctx.opts.maxRetries) {
      // K2: the original drops it silently; we report it and roll it back.
      this.ctx.stats.timeouts++;
      this.settle(p);
      this.records.addRollback(p.event, 'timeout');
      this.ctx.log.guard(() => this.ctx.hooks.onTimeout?.(p.event));
      p.reject(new EventsError('GW_ERR_EVENT_TIMEOUT', `no judgement for event ${p.event.id} after ${this.ctx.opts.maxRetries} retries`));
      return;
    }
    p.event.retries++;
    this.ctx.stats.eventResends++;
    this.sendEvent(p);
  }

  private settle(p: Pending): void {
    clearTimeout(p.timer);
    p.timer = undefined;
    this.events.delete(p.event.id);
    this.pending.delete(p.event.id);
  }
}
