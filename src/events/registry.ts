/**
 * The EventServer's registry (neteria.md §6, K4, K5, K7): who is registered from which address,
 * the per-address and per-IP budgets that keep one source from filling it, idle expiry, and
 * the eviction of unproven registrations when it is full (issue 14 item 3).
 */
import { type AddressCounter, normalizeIp } from '../transport/address-limiter.js';
import type { PeerAddress } from './endpoint.js';
import * as msg from './messages.js';
import type { ReplyCredit } from './reply-credit.js';
import type { ClientInfo, Credit, Registration, ServerContext } from './server-types.js';

/** One per server: the registrations, by id and by address. */
export class Registry {
  private readonly registrations = new Map<string, Registration>();
  /** Registrations by `ip:port`, and counts by IP (the per-address caps). */
  private readonly byAddress = new Map<string, Set<Registration>>();

  /**
   * @param ctx the server's shared state
   * @param replies answers REGISTER, and moves an address's credit onto its registration
   * @param maxPerAddress registrations one `ip:port` keeps (`maxRegistrationsPerAddress`)
   * @param perIp registrations per IP (`maxRegistrationsPerIp`)
   * @param forget called with the id of a removed registration, before `onExpire`: fails its notifications
   */
  constructor(
    private readonly ctx: ServerContext,
    private readonly replies: ReplyCredit,
    private readonly maxPerAddress: number,
    private readonly perIp: AddressCounter,
    private readonly forget: (clientId: string) => void,
  ) {}

  /** The registration of `cuuid`, expired or not. */
  get(cuuid: string): Registration | undefined {
    return this.registrations.get(cuuid);
  }

  values(): IterableIterator<Registration> {
    return this.registrations.values();
  }

  /** A REGISTER from `from` (neteria.md §6), its credit already earned; answers OK or BYE REGISTER. */
  register(cuuid: string, encryption: boolean, from: PeerAddress, now: number, credit: Credit): void {
    if (encryption) {
      // neteria.md §10: refuse rather than silently answer an RSA client in plaintext.
      this.ctx.stats.registrationsRejected++;
      this.replies.reply(msg.BYE_REGISTER, from, credit);
      return;
    }
    const known = this.live(cuuid, now);
    const key = addressKey(from);
    const ip = normalizeIp(from.address);
    if (known && addressKey(known) === key) {
      // §6: re-registering always succeeds, even when full.
      known.registeredAt = now;
      known.lastSeen = now;
      this.replies.reply(msg.OK_REGISTER, from, known.credit);
      this.ctx.log.guard(() => this.ctx.hooks.onRegister?.(info(known), true));
      return;
    }
    // A new client, or a known one moving here (K4). One address keeps at most maxPerAddress
    // registrations, a new one replacing its oldest; an IP at its cap gets no new ones (issue 14 item 3).
    const here = this.byAddress.get(key);
    const replacing = here !== undefined && here.size >= this.maxPerAddress;
    const sameIp = known !== undefined && normalizeIp(known.address) === ip;
    if (!replacing && !sameIp && !this.perIp.has(ip)) {
      this.ctx.stats.registrationsRejected++;
      this.replies.reply(msg.BYE_REGISTER, from, credit);
      return;
    }
    if (replacing) this.evict(oldest(here)!);
    if (known) {
      // §6: re-registering always succeeds, even when full, and moves the client (K4). The new
      // address has proven nothing yet, and its credit is what it sent.
      this.unlink(known);
      known.address = from.address;
      known.port = from.port;
      known.registeredAt = now;
      known.lastSeen = now;
      known.proven = false;
      known.credit = this.replies.takeCredit(key, credit);
      this.link(known);
      this.replies.reply(msg.OK_REGISTER, from, known.credit);
      this.ctx.log.guard(() => this.ctx.hooks.onRegister?.(info(known), true));
      return;
    }
    if (this.registrations.size >= this.ctx.opts.registrationLimit) this.sweep(now);
    if (this.registrations.size >= this.ctx.opts.registrationLimit) this.evictUnproven(now);
    // K7: the original tests `count > limit` before inserting and so admits limit + 1.
    if (this.registrations.size >= this.ctx.opts.registrationLimit) {
      this.ctx.stats.registrationsRejected++;
      this.replies.reply(msg.BYE_REGISTER, from, credit);
      return;
    }
    const rec: Registration = {
      id: cuuid, address: from.address, port: from.port, registeredAt: now, lastSeen: now, proven: false,
      judged: new Map(), credit: this.replies.takeCredit(key, credit),
    };
    this.registrations.set(cuuid, rec);
    this.link(rec);
    this.replies.reply(msg.OK_REGISTER, from, rec.credit);
    this.ctx.log.guard(() => this.ctx.hooks.onRegister?.(info(rec), false));
  }

  /** The registration of `cuuid` if it is live and `from` is exactly its address (K4). */
  registered(cuuid: string, from: PeerAddress, now: number): Registration | undefined {
    const rec = this.live(cuuid, now);
    if (!rec || rec.address !== from.address || rec.port !== from.port) return undefined;
    rec.lastSeen = now;
    return rec;
  }

  touchIfRegistered(cuuid: string, from: PeerAddress, now: number): void {
    this.registered(cuuid, from, now);
  }

  /** The registration of `cuuid`, expiring it first if it has been idle too long (K5). */
  live(cuuid: string, now: number): Registration | undefined {
    const rec = this.registrations.get(cuuid);
    if (rec && now - rec.lastSeen > this.ctx.opts.registrationIdleMs) {
      this.expire(rec);
      return undefined;
    }
    return rec;
  }

  sweep(now: number): void {
    for (const rec of this.registrations.values()) {
      if (now - rec.lastSeen > this.ctx.opts.registrationIdleMs) this.expire(rec);
    }
  }

  private expire(rec: Registration): void {
    this.ctx.stats.expired++;
    this.remove(rec);
  }

  /** Remove an unproven registration to make room (issue 14 item 3); reported like an expiry. */
  private evict(rec: Registration): void {
    this.ctx.stats.evicted++;
    this.remove(rec);
  }

  /** A full registry: evict the oldest unproven registration past its grace period, if any. */
  private evictUnproven(now: number): void {
    let victim: Registration | undefined;
    for (const rec of this.registrations.values()) {
      if (rec.proven || now - rec.registeredAt < this.ctx.opts.unprovenGraceMs) continue;
      if (victim === undefined || rec.registeredAt < victim.registeredAt) victim = rec;
    }
    if (victim !== undefined) this.evict(victim);
  }

  private link(rec: Registration): void {
    const key = addressKey(rec);
    let set = this.byAddress.get(key);
    if (set === undefined) this.byAddress.set(key, (set = new Set()));
    set.add(rec);
    this.perIp.take(normalizeIp(rec.address));
  }

  private unlink(rec: Registration): void {
    const key = addressKey(rec);
    const set = this.byAddress.get(key);
    if (set?.delete(rec)) {
      if (set.size === 0) this.byAddress.delete(key);
      this.perIp.give(normalizeIp(rec.address));
    }
  }

  private remove(rec: Registration): void {
    this.registrations.delete(rec.id);
    this.unlink(rec);
    clearJudgedTimers(rec);
    this.forget(rec.id);
    this.ctx.log.guard(() => this.ctx.hooks.onExpire?.(info(rec)));
  }

  /** Forget every registration and cancel its verdict resends (close()). */
  clear(): void {
    for (const rec of this.registrations.values()) clearJudgedTimers(rec);
    this.registrations.clear();
    this.byAddress.clear();
  }
}

export function info(rec: Registration): ClientInfo {
  return { id: rec.id, address: rec.address, port: rec.port, registeredAt: rec.registeredAt, lastSeen: rec.lastSeen, proven: rec.proven };
}

export function addressKey(a: PeerAddress): string {
  return `${a.address}:${a.port}`;
}

function oldest(set: Set<Registration>): Registration | undefined {
  let first: Registration | undefined;
  for (const rec of set) if (first === undefined || rec.registeredAt < first.registeredAt) first = rec;
  return first;
}

function clearJudgedTimers(rec: Registration): void {
  for (const j of rec.judged.values()) {
    clearTimeout(j.timer);
    j.timer = undefined;
  }
}
