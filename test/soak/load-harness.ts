/**
 * What the four soak loads (relay, mm, udp, events) share: the hostile set and how a hostile
 * peer of a random kind is launched and counted, the good-traffic switch, the timers, and the
 * order of shutdown. A load keeps only its server, its good clients, its hostile kinds and its
 * checks.
 */
import { HostileSet, type LoadComponent, type LoadSettings } from './component.js';
import { SoakRng } from './pattern.js';
import type { Tally } from './tally.js';

/**
 * Source addresses of the ordinary hostile peers. Good clients and their probes use 127.0.0.1
 * alone, so the per-IP budgets of the servers (connections, handshakes, registrations, joints)
 * that hostile peers run into never refuse a good client. Three addresses: with mm's 8 pending
 * handshakes per IP they hold at most 24 of the 64 pending slots.
 */
export const HOSTILE_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4'] as const;

/**
 * Source addresses of the lockout kinds (issue 14), one per running attack in turn, so an
 * attack's per-IP figures are its own. Four: with the ordinary three, at most 56 of mm's 64
 * pending handshake slots, so a good client still finds one.
 */
export const LOCKOUT_ADDRESSES = ['127.0.0.50', '127.0.0.51', '127.0.0.52', '127.0.0.53'] as const;

/** A soak load: the shared half of a LoadComponent. */
export abstract class LoadHarness<Kind extends string> implements LoadComponent {
  abstract readonly name: string;
  /** The hostile kinds this load launches, picked uniformly. */
  protected abstract readonly kinds: readonly Kind[];
  protected readonly hostiles = new HostileSet();
  /** Good clients send while this is true (stopTraffic() and close() clear it). */
  protected sending = false;
  /** This load's own draws (good traffic sizes and modes), apart from the soak's hostile stream. */
  protected readonly rng: SoakRng;
  private readonly timers: NodeJS.Timeout[] = [];
  private lockoutTurn = 0;

  /** @param salt xored into the soak's seed for this load's own rng */
  constructor(
    protected readonly tally: Tally,
    protected readonly settings: LoadSettings,
    salt: number,
  ) {
    this.rng = new SoakRng(settings.seed ^ salt);
  }

  abstract start(): Promise<void>;
  abstract drain(timeoutMs: number): Promise<void>;
  abstract progress(): string;
  /** Run one hostile peer of `kind` to its end (it registers what it opens with `this.hostiles`). */
  protected abstract hostile(kind: Kind, rng: SoakRng): Promise<void>;
  /** Close what the load opened (good clients, proxies, servers) and tally the servers' figures; hostile peers are gone by then. */
  protected abstract shutdown(): Promise<void>;

  spawnHostile(rng: SoakRng): void {
    const kind = rng.pick(this.kinds);
    const seed = rng.int(2 ** 31);
    this.tally.hostile(`${this.name}:${kind}`);
    this.hostiles.run(
      () => this.hostile(kind, new SoakRng(seed)),
      (err) => this.tally.figure(`${this.name}: hostile ${kind} could not run (${(err as Error).message.slice(0, 40)})`),
    );
  }

  hostileActive(): number {
    return this.hostiles.size;
  }

  stopTraffic(): void {
    this.sending = false;
  }

  /** Good traffic off, every hostile peer ended, then the load's own shutdown; timers are cleared at the end at the latest. */
  async close(): Promise<void> {
    this.sending = false;
    try {
      await this.hostiles.close();
      await this.shutdown();
    } finally {
      this.clearTimers();
    }
  }

  /** Call `fn` every `ms` until close() (or clearTimers()). */
  protected every(ms: number, fn: () => void): void {
    this.timers.push(setInterval(fn, ms));
  }

  protected clearTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  /** A source address for an ordinary hostile peer. */
  protected hostileAddress(rng: SoakRng): string {
    return rng.pick(HOSTILE_ADDRESSES);
  }

  /** The source address of the next lockout attack (round robin). */
  protected lockoutAddress(): string {
    return LOCKOUT_ADDRESSES[this.lockoutTurn++ % LOCKOUT_ADDRESSES.length]!;
  }
}
