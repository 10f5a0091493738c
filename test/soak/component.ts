/**
 * What the soak orchestrator (soak.ts) needs from each style's load: a server with good clients
 * whose every byte is checked, and a menu of hostile peers to throw at it.
 */
import type { SoakRng } from './pattern.js';
import type { Tally } from './tally.js';

/** Load settings shared by all components. */
export interface LoadSettings {
  /** Multiplies client counts and rates (1 = the default mixed load). */
  scale: number;
  seed: number;
  /** Progress lines (or nothing). */
  log: (line: string) => void;
  /**
   * The relay component's engine (`RelayOptions.engine`); undefined: the relay's default. When
   * set, a relay that runs another engine (no addon, no engine in it) fails to start.
   */
  relayEngine?: 'native' | 'node';
  /**
   * Multiplies the handshake deadlines and a probe's waits (default 1): 3 under ASan, where the
   * event loop every component shares stalls for up to ~2 s (docs/soak.md).
   */
  timeFactor?: number;
}

export interface LoadComponent {
  /** Style name used in reasons: relay, mm, udp, events. */
  readonly name: string;
  /** Start the server and the good clients; resolves when every good client is connected. */
  start(): Promise<void>;
  /** Launch one hostile peer of a random kind (runs on its own; tracked for close()). */
  spawnHostile(rng: SoakRng): void;
  /** Hostile peers still running. */
  hostileActive(): number;
  /** Stop good clients from sending anything new. */
  stopTraffic(): void;
  /**
   * Wait (at most `timeoutMs`) until everything good clients sent has been received, then
   * add what never arrived to the tally.
   */
  drain(timeoutMs: number): Promise<void>;
  /** Close every client, hostile peer, proxy and server; after it no handle of this component stays open. */
  close(): Promise<void>;
  /** One line of progress figures. */
  progress(): string;
}

/** Constructor shape of a component. */
export type ComponentFactory = (tally: Tally, settings: LoadSettings) => LoadComponent;

/** Resolve after `ms` (the timer is not unref'd: the soak wants to wait for it). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `done` every 20 ms until it returns true or `timeoutMs` passes; returns its last value. */
export async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) return false;
    await sleep(20);
  }
  return true;
}

/** Tracks running hostile tasks so close() can wait for them and report what they left open. */
export class HostileSet {
  private readonly running = new Set<Promise<void>>();
  private readonly cleanups = new Set<() => void>();
  closing = false;

  /** Run `task` (errors are the hostile's own problem: swallowed, counted by the caller). */
  run(task: () => Promise<void>, onError: (err: unknown) => void): void {
    const p = task().catch(onError).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Register a cleanup (destroy a socket...) run at close(); returns the unregister function. */
  hold(cleanup: () => void): () => void {
    this.cleanups.add(cleanup);
    return () => this.cleanups.delete(cleanup);
  }

  get size(): number {
    return this.running.size;
  }

  /** Cleanups first (so tasks waiting on sockets end), then wait for the tasks. */
  async close(): Promise<void> {
    this.closing = true;
    for (const c of [...this.cleanups]) {
      try {
        c();
      } catch {
        /* already gone */
      }
    }
    this.cleanups.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.running]), new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
    clearTimeout(timer);
  }
}
