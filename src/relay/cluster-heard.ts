/**
 * After a NATS outage, which peers this node has heard again (docs/cluster.md §7). Core NATS
 * drops a message nobody is subscribed to, and every node reconnects on its own schedule, so a
 * record sent the moment this node is back can be lost on its way to a node that is not back yet
 * (and the batch after it then shows a gap). A heartbeat from a node proves it is back and
 * subscribed: its client re-subscribes before it publishes anything. The enters held through the
 * outage (cluster-enter.ts) therefore go to their owner node only once it has been heard.
 */
import { decodeHeartbeat } from '../cluster/index.js';
import type { BridgeContext } from './cluster-context.js';

/** Listens to the heartbeats for a while after NATS is back. */
export class HeardAgain {
  private sub: { unsubscribe(): void } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly heard = new Set<string>();
  private readonly waiting = new Map<string, (() => void)[]>();

  /** @param ctx its `cluster` is set once joined, before any outage. */
  constructor(private readonly ctx: BridgeContext) {}

  /**
   * NATS is back: note the nodes heard from now on, for `windowMs` (a node still silent by then
   * is being declared dead by the membership, and what waits for it goes ahead and fails there).
   */
  start(windowMs: number): void {
    this.stop();
    this.heard.clear();
    const cluster = this.ctx.cluster;
    this.sub = cluster.nc.subscribe(cluster.membership.subject, {
      callback: (_err, msg) => {
        const beat = decodeHeartbeat(msg.data);
        if (beat !== null) this.hear(beat.nodeId);
      },
    });
    this.timer = setTimeout(() => this.stop(), windowMs);
    this.timer.unref();
  }

  /** Run `go` once `nodeId` has been heard since NATS came back; at once outside that window. */
  whenHeard(nodeId: string, go: () => void): void {
    if (this.sub === null || this.heard.has(nodeId)) return go();
    let list = this.waiting.get(nodeId);
    if (list === undefined) this.waiting.set(nodeId, (list = []));
    list.push(go);
  }

  private hear(nodeId: string): void {
    if (this.heard.has(nodeId)) return;
    this.heard.add(nodeId);
    const list = this.waiting.get(nodeId);
    if (list === undefined) return;
    this.waiting.delete(nodeId);
    for (const go of list) go();
  }

  /** End the window: whatever still waits goes ahead. */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.sub?.unsubscribe();
    this.sub = null;
    const lists = [...this.waiting.values()];
    this.waiting.clear();
    for (const list of lists) for (const go of list) go();
  }

  /** Forget what waits without running it (the bridge closes). */
  close(): void {
    this.waiting.clear();
    this.stop();
  }
}
