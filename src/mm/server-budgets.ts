/**
 * The connection budgets a Server checks at accept, before a byte is read: connect rate per
 * IP, handshakes in progress (over all and per IP), connections per IP, and the refusal
 * counters `stats()` reports.
 */
import { AddressCounter, AddressRate, normalizeIp } from '../transport/address-limiter.js';
import { nowMs } from '../wire/session.js';
import { MmArgumentError } from './errors.js';
import {
  CONNECT_BURST_PER_IP,
  CONNECT_RATE_PER_IP,
  MAX_CONNECTIONS_PER_IP,
  MAX_PENDING_HANDSHAKES,
  MAX_PENDING_HANDSHAKES_PER_IP,
  MAX_RATE_ENTRIES,
} from './limits.js';
import { checkCount, type ServerOptions } from './server-options.js';

/** @internal One admitted connection's claim on the per-IP and pending budgets. */
export class Admission {
  pending = true;
  /** Accept time (`nowMs()`): the handshake deadline runs from here. */
  readonly at = nowMs();
  constructor(readonly ip: string) {}
}

/** @internal The accept-time budgets of one Server and its refusal counters. */
export class ConnectionBudgets {
  private readonly perIp: AddressCounter;
  private readonly pendingPerIp: AddressCounter;
  private readonly maxPending: number;
  private pending = 0;
  private readonly connectRate: AddressRate | null;
  /** Refusal counters since creation; the server counts `refusedFull` itself (it owns `maxConnections`). */
  readonly counters = { refusedRate: 0, refusedPerIp: 0, refusedPendingPerIp: 0, refusedPending: 0, refusedFull: 0, handshakesFailed: 0 };

  /** @throws MmArgumentError on a bad budget option */
  constructor(options: ServerOptions) {
    this.perIp = new AddressCounter(checkCount('maxConnectionsPerIp', options.maxConnectionsPerIp ?? MAX_CONNECTIONS_PER_IP, 0));
    this.maxPending = checkCount('maxPendingHandshakes', options.maxPendingHandshakes ?? MAX_PENDING_HANDSHAKES, 1);
    this.pendingPerIp = new AddressCounter(checkCount('maxPendingHandshakesPerIp', options.maxPendingHandshakesPerIp ?? MAX_PENDING_HANDSHAKES_PER_IP, 1));
    const rate = options.connectRatePerIp ?? CONNECT_RATE_PER_IP;
    if (!(rate >= 0) || !Number.isFinite(rate)) throw new MmArgumentError('GW_ERR_BAD_OPTION', `connectRatePerIp must be a number >= 0, got ${rate}`);
    const burst = options.connectBurstPerIp ?? CONNECT_BURST_PER_IP;
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new MmArgumentError('GW_ERR_BAD_OPTION', `connectBurstPerIp must be a number >= 1, got ${burst}`);
    this.connectRate = rate > 0 ? new AddressRate(rate, burst, MAX_RATE_ENTRIES) : null;
  }

  /** Handshakes in progress now. */
  get pendingCount(): number {
    return this.pending;
  }

  /**
   * At accept, before a byte is read: the cheapest checks first, and nothing allocated for a
   * refused connection (issue 14: refusing must cost less than attacking). The server has
   * already refused everything while closing.
   */
  admit(address: string): Admission | null {
    const ip = normalizeIp(address);
    const c = this.counters;
    if (this.connectRate !== null && !this.connectRate.take(ip, nowMs())) {
      c.refusedRate++;
      return null;
    }
    if (this.pending >= this.maxPending) {
      c.refusedPending++;
      return null;
    }
    if (!this.pendingPerIp.has(ip)) {
      c.refusedPendingPerIp++;
      return null;
    }
    if (!this.perIp.take(ip)) {
      c.refusedPerIp++;
      return null;
    }
    this.pendingPerIp.take(ip);
    this.pending++;
    return new Admission(ip);
  }

  /** The connection is established: its pending slot goes back, its per-IP slot stays. */
  settle(admission: Admission): void {
    if (!admission.pending) return;
    admission.pending = false;
    this.pending--;
    this.pendingPerIp.give(admission.ip);
  }

  /** The admitted connection closed, whatever the cause: every slot it held goes back. */
  release(admission: Admission): void {
    if (admission.pending) this.counters.handshakesFailed++;
    this.settle(admission);
    this.perIp.give(admission.ip);
  }
}
