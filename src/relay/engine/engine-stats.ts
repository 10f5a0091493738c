/**
 * The relay's figures on the native engine: the data plane's counters live in the engine (bytes,
 * frames, drops, pauses, backlog, sockets waiting for their first byte) and are read with one
 * `engine.stats` call, as are the disconnects it sees first; what the control plane decides
 * (admissions, refusals, joint caps, shutdown) stays in its `RelayStats`. `EngineStatsView` puts the two
 * together in the shape of `RelayStats`, so `stats()`, `snapshotOf` and the Prometheus registry
 * read it as they read the Node engine's.
 */
import { DisconnectReason, type RelayStats } from '../stats.js';

/** The disconnect reasons whose counts the engine keeps (its counters of the same names). */
const ENGINE_COUNTED = Object.values(DisconnectReason).filter((r) => r !== DisconnectReason.Shutdown && r !== DisconnectReason.ClusterLost);

/**
 * The engine's counters by name. Each read is one `engine.stats` call (a copy of a few dozen
 * numbers the engine publishes once per loop turn): cheap enough for `stats()` and a scrape, and
 * never stale within a turn of ours.
 */
export class EngineCounters {
  private readonly values: Float64Array;
  private readonly index = new Map<string, number>();

  /**
   * @param names the engine's counter names in the order `read` fills them.
   * @param read fills the array with the counters (`engine.stats`); not called once `freeze` ran.
   */
  constructor(
    names: readonly string[],
    private read: ((out: Float64Array) => void) | null,
  ) {
    this.values = new Float64Array(names.length);
    names.forEach((name, i) => this.index.set(name, i));
  }

  /** The counter `name`, 0 when the engine has none of that name. */
  get(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) return 0;
    this.read?.(this.values);
    return this.values[i]!;
  }

  /** Read once more and keep those values: the engine is about to stop. */
  freeze(): void {
    if (this.read === null) return;
    this.read(this.values);
    this.read = null;
  }
}

/** `RelayStats` of a relay on the native engine: the control plane's counts and the engine's. */
export class EngineStatsView implements Readonly<Omit<RelayStats, 'disconnects'>> {
  constructor(
    private readonly own: RelayStats,
    private readonly engine: EngineCounters,
  ) {}

  get connections(): number {
    return this.own.connections;
  }
  get accepted(): number {
    return this.own.accepted;
  }
  get refusedPerIp(): number {
    return this.own.refusedPerIp;
  }
  get refusedTotal(): number {
    return this.own.refusedTotal;
  }
  /** Sockets the engine closed at accept: its pending-socket backstop (kMaxPendingConnections) was full. */
  get refusedPending(): number {
    return this.engine.get('refusedPending');
  }
  get jointsRefused(): number {
    return this.own.jointsRefused;
  }
  get bytesIn(): number {
    return this.engine.get('bytesIn');
  }
  /** Everything the engine wrote, replies and events sent through `engine.send` included. */
  get bytesOut(): number {
    return this.engine.get('bytesOut');
  }
  /** Data frames completed and commands: the engine parses both. */
  get framesIn(): number {
    return this.engine.get('framesIn');
  }
  /** Forwarded frames, keepalives, and the replies and events sent through `engine.send` (one each). */
  get framesOut(): number {
    return this.engine.get('framesOut');
  }
  get drops(): number {
    return this.engine.get('drops');
  }
  get throttled(): number {
    return this.engine.get('throttled');
  }
  get backpressured(): number {
    return this.engine.get('backpressured');
  }
  get backpressuredNow(): number {
    return this.engine.get('backpressuredNow');
  }
  /**
   * By reason, from the engine, which counts a close as it happens, before the peer can see it (as
   * the Node engine's drop does), whichever side decided it; the control plane's CLOSED event comes
   * a batch later. `shutdown` and `cluster_lost` are the control plane's: the engine also closes
   * refused connections with its `shutdown` code, and knows no cluster.
   */
  get disconnects(): Record<DisconnectReason, number> {
    const out = { ...this.own.disconnects };
    for (const reason of ENGINE_COUNTED) out[reason] = this.engine.get(reason);
    return out;
  }
  /** Gauge: bytes queued toward peers in the engine. */
  get backlogBytes(): number {
    return this.engine.get('backlogBytes');
  }
  /** Gauge: sockets waiting for their first byte (or their WebSocket handshake). */
  get pendingConnections(): number {
    return this.engine.get('pendingConnections');
  }
  /** Gauge: of those, the ones in a WebSocket handshake. */
  get pendingUpgrades(): number {
    return this.engine.get('pendingUpgrades');
  }
}
