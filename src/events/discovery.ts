/**
 * Discovery (neteria.md §5): OHAI, broadcast or unicast, and the servers that answer it. Every
 * answer is recorded in the client's `servers` (bounded, the least recently answering first
 * out); each running discover() collects those that match its target until its timeout, or
 * the first one when it asked a single server.
 */
import type { ClientContext, DiscoveredServer } from './client-types.js';
import type { Endpoint, PeerAddress } from './endpoint.js';
import * as msg from './messages.js';

interface Discovery {
  target: PeerAddress;
  unicast: boolean;
  found: DiscoveredServer[];
  done: () => void;
}

/** One per client: the discover() calls running. */
export class Discoveries {
  private readonly running = new Set<Discovery>();

  /**
   * @param ctx the client's shared state
   * @param servers the client's public `servers`, filled here
   */
  constructor(
    private readonly ctx: ClientContext,
    private readonly servers: Map<string, DiscoveredServer>,
  ) {}

  /** Discoveries running. */
  get size(): number {
    return this.running.size;
  }

  /**
   * Send OHAI to `address:port` and collect the answers for `timeout` ms; a unicast probe ends
   * at the first answer.
   * @returns the servers that answered, fewer when endAll() ended it early.
   */
  run(endpoint: Endpoint, address: string, port: number, broadcast: boolean, timeout: number): Promise<DiscoveredServer[]> {
    return new Promise<DiscoveredServer[]>((done) => {
      const d: Discovery = { target: { address, port }, unicast: !broadcast, found: [], done: () => undefined };
      const timer = setTimeout(() => d.done(), timeout);
      d.done = () => {
        clearTimeout(timer);
        this.running.delete(d);
        done(d.found);
      };
      this.running.add(d);
      // §5: OHAI is never compressed or encrypted; SO_BROADCAST only when broadcasting.
      endpoint.send(msg.ohai(this.ctx.opts.version, this.ctx.id), d.target, (err) => this.ctx.reportError(err), broadcast);
    });
  }

  /** OHAI Client or BYE REGISTER from any address: an answer to a discovery, if one is running. */
  onAnswer(m: msg.ClientInbound, from: PeerAddress): void {
    if (this.running.size === 0) return this.ctx.drop(from, `${m.method} while not discovering`);
    if (m.method !== 'OHAI Client') return; // BYE REGISTER: our version is refused; not listed
    const server: DiscoveredServer = { address: from.address, port: from.port, version: m.version, serverName: m.serverName };
    const key = `${from.address}:${from.port}`;
    // Re-inserted so the map is ordered by last answer; the oldest goes past the bound.
    this.servers.delete(key);
    this.servers.set(key, server);
    if (this.servers.size > this.ctx.opts.maxDiscoveredServers) this.servers.delete(this.servers.keys().next().value as string);
    for (const d of [...this.running]) {
      if (d.target.port !== from.port) continue;
      if (d.unicast && d.target.address !== from.address) continue;
      if (d.found.length >= this.ctx.opts.maxDiscoveredServers) continue;
      if (!d.found.some((s) => s.address === from.address && s.port === from.port)) d.found.push(server);
      if (d.unicast) d.done();
    }
  }

  /** End every running discovery now, with what it found (close()). */
  endAll(): void {
    for (const d of [...this.running]) d.done();
  }
}
