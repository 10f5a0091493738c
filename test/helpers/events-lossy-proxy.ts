/**
 * A seeded lossy UDP proxy for the events tests: clients send to the proxy's front socket, and
 * the proxy forwards each client's datagrams to the target from an upstream socket of its own
 * (so the server sees one stable address per client) and the answers back to that client.
 *
 * Per datagram and direction it may lose, duplicate, delay and so reorder, with decisions drawn
 * from a PRNG seeded by `seed` in arrival order, so a run is reproducible. Deterministic rules
 * (`dropNext`) drop chosen datagrams, for tests of one specific retransmission path. Everything
 * is logged in `log`. Loopback only; every socket and timer is released by `close()`.
 */
import dgram from 'node:dgram';
import { prng } from './prng.js';

/** `up`: client → server; `down`: server → client. */
export type Direction = 'up' | 'down';

/** What happened to one datagram. */
export interface ProxyLogEntry {
  dir: Direction;
  text: string;
  fate: 'pass' | 'lost' | 'dropped-by-rule' | 'duplicated';
}

export interface LossyProxyOptions {
  /** Where `up` datagrams go. */
  target: { address: string; port: number };
  /** PRNG seed (any 32-bit integer). */
  seed: number;
  /** Probability of losing a datagram, default 0. */
  loss?: number;
  /** Probability of sending a datagram twice, default 0. */
  duplicate?: number;
  /** Delay range in ms, default [0, 0]; a random delay per copy reorders datagrams. */
  delayMs?: [number, number];
}

interface Rule {
  dir: Direction;
  match: (text: string) => boolean;
  remaining: number;
}

function bindSocket(): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
  });
}

export class EventsLossyProxy {
  /** Every datagram that reached the proxy, in arrival order. */
  readonly log: ProxyLogEntry[] = [];
  private readonly random: () => number;
  private readonly rules: Rule[] = [];
  private readonly upstreams = new Map<string, Promise<dgram.Socket>>();
  private readonly sockets: dgram.Socket[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  private constructor(
    private readonly front: dgram.Socket,
    private readonly opts: LossyProxyOptions,
  ) {
    this.random = prng(opts.seed);
    front.on('message', (m, r) => void this.fromClient(m, r));
  }

  /** Start a proxy on 127.0.0.1 with an OS-chosen port. */
  static async start(opts: LossyProxyOptions): Promise<EventsLossyProxy> {
    return new EventsLossyProxy(await bindSocket(), opts);
  }

  /** The address clients send to. */
  get address(): { address: string; port: number } {
    const a = this.front.address();
    return { address: a.address, port: a.port };
  }

  /** Drop the next `times` datagrams in `dir` whose text matches (before any random fate). */
  dropNext(dir: Direction, match: string | RegExp | ((text: string) => boolean), times = 1): void {
    const fn = typeof match === 'function' ? match : typeof match === 'string' ? (t: string) => t.includes(match) : (t: string) => match.test(t);
    this.rules.push({ dir, match: fn, remaining: times });
  }

  /** Log entries of one direction whose text contains `needle`. */
  seen(dir: Direction, needle: string): ProxyLogEntry[] {
    return this.log.filter((e) => e.dir === dir && e.text.includes(needle));
  }

  /** Close every socket and cancel delayed datagrams. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const sockets = [this.front, ...this.sockets];
    await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private async fromClient(bytes: Buffer, from: dgram.RemoteInfo): Promise<void> {
    const key = `${from.address}:${from.port}`;
    let pending = this.upstreams.get(key);
    if (!pending) {
      // One upstream socket per client, made once even when datagrams arrive during the bind.
      pending = bindSocket().then((s) => {
        if (this.closed) s.close();
        else this.sockets.push(s);
        s.on('message', (m) => this.forward('down', m, (copy) => this.front.send(copy, from.port, from.address)));
        return s;
      });
      this.upstreams.set(key, pending);
    }
    const upstream = await pending;
    if (this.closed) return;
    this.forward('up', bytes, (copy) => upstream.send(copy, this.opts.target.port, this.opts.target.address));
  }

  private forward(dir: Direction, bytes: Buffer, send: (b: Buffer) => void): void {
    if (this.closed) return;
    const text = bytes.toString('utf8');
    const rule = this.rules.find((r) => r.dir === dir && r.remaining > 0 && r.match(text));
    if (rule) {
      rule.remaining--;
      this.log.push({ dir, text, fate: 'dropped-by-rule' });
      return;
    }
    if (this.random() < (this.opts.loss ?? 0)) {
      this.log.push({ dir, text, fate: 'lost' });
      return;
    }
    const copies = this.random() < (this.opts.duplicate ?? 0) ? 2 : 1;
    this.log.push({ dir, text, fate: copies === 2 ? 'duplicated' : 'pass' });
    const [min, max] = this.opts.delayMs ?? [0, 0];
    for (let i = 0; i < copies; i++) {
      const delay = min + this.random() * (max - min);
      if (delay <= 0) {
        send(bytes);
        continue;
      }
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!this.closed) send(bytes);
      }, delay);
      this.timers.add(t);
    }
  }
}
