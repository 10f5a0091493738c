/**
 * Who may connect: the relay's total cap (`maxConnections`) and per-IP cap (`maxConnectionsPerIp`),
 * checked once per connection before anything it sent is handled, and counted in the stats. Both
 * engines ask it (the Node engine at accept, the native one at its ACCEPT event), so a refusal
 * counts and logs the same on either.
 */
import { IpLimiter } from './ip-limiter.js';
import type { Logger } from './logger.js';
import type { ResolvedRelayOptions } from './options.js';
import type { RelayStats } from './stats.js';

export class Admission {
  /** Connections admitted and not yet released (the total cap). */
  private admitted = 0;
  private readonly ipLimiter: IpLimiter;

  constructor(
    private readonly options: Readonly<ResolvedRelayOptions>,
    private readonly stats: RelayStats,
    private readonly log: Logger,
  ) {
    this.ipLimiter = new IpLimiter(options.maxConnectionsPerIp);
  }

  /**
   * Admit a connection from `address`, or count and log its refusal.
   * @returns the IP it is counted under, to hand to `release` once when it closes; null when refused.
   */
  admit(address: string): string | null {
    const o = this.options;
    if (o.maxConnections > 0 && this.admitted >= o.maxConnections) {
      this.stats.refusedTotal++;
      this.log.info('connection refused: total cap', { ip: address, max: o.maxConnections });
      return null;
    }
    const ip = this.ipLimiter.admit(address);
    if (ip === null) {
      this.stats.refusedPerIp++;
      this.log.info('connection refused: per-IP cap', { ip: address, max: o.maxConnectionsPerIp });
      return null;
    }
    this.admitted++;
    return ip;
  }

  /** A connection admitted under `ip` closed (once per admission). */
  release(ip: string): void {
    this.admitted--;
    this.ipLimiter.release(ip);
  }
}
