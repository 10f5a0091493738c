/**
 * What the four soak loads (relay, mm, udp, events) share: the hostile set and how a hostile
 * peer of a random kind is launched and counted, the good-traffic switch, the timers, and the
 * order of shutdown. A load keeps only its server, its good clients, its hostile kinds and its
 * checks.
 */
import { HostileSet, type LoadComponent, type LoadSettings } from './component.js';
import { SoakRng } from './pattern.js';
import type { Tally } from './tally.js';

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
}
