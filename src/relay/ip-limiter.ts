/**
 * The per-IP connection cap, counted by source IP address (joint.md §7, §16 D5: the original
 * keyed its table by source port and miscounted).
 */

/** `::ffff:1.2.3.4` and `1.2.3.4` are one client: count them under the IPv4 form. */
export function normalizeIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export class IpLimiter {
  private readonly counts = new Map<string, number>();

  /** @param max concurrent connections per IP; 0 = unlimited. */
  constructor(private readonly max: number) {}

  /** Addresses with open connections. */
  get addresses(): number {
    return this.counts.size;
  }

  /** Open connections from `address`. */
  count(address: string): number {
    return this.counts.get(normalizeIp(address)) ?? 0;
  }

  /**
   * Admit a connection from `address`.
   * @returns the IP it is counted under, to hand to `release` once when it closes, or null when
   *   the IP is at its cap.
   */
  admit(address: string): string | null {
    const ip = normalizeIp(address);
    const now = this.counts.get(ip) ?? 0;
    if (this.max > 0 && now >= this.max) return null;
    this.counts.set(ip, now + 1);
    return ip;
  }

  /** A connection admitted under `ip` closed (call once per admission). */
  release(ip: string): void {
    const left = (this.counts.get(ip) ?? 1) - 1;
    if (left <= 0) this.counts.delete(ip);
    else this.counts.set(ip, left);
  }
}
