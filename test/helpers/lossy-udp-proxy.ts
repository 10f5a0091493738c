/**
 * A seeded lossy UDP proxy for tests: loss, delay with jitter, duplication and reordering, each
 * decided by a PRNG seeded per client and direction, so the same seed and the same traffic give the
 * same decisions.
 *
 * Topology. Clients send to the proxy's front port; for each client address the proxy opens one
 * upstream socket and forwards from it, so the server sees one stable address per client. Replies
 * reaching that upstream socket go back to the client from the client-facing socket that matches
 * their source.
 *
 * Per-client server sockets (UDPIPE's SC, udpipe.md §1). When `rewriteConnect` is on (default), a
 * datagram from the target of the form `CONNECT <ip> <port>` is rewritten: the proxy opens a
 * client-facing "face" socket for that SC address and announces its own address instead
 * (`CONNECT 127.0.0.1 <face port>`). Datagrams the client sends to the face go out through the same
 * upstream socket to SC (so SC's source check passes), and SC's datagrams come back through the
 * face. Every hop is impaired the same way. Other protocols (no `CONNECT` replies) pass unchanged.
 *
 * ```ts
 * const proxy = await LossyUdpProxy.start({ target: { host: '127.0.0.1', port }, seed: 7, loss: 0.2 });
 * client.connect('127.0.0.1', proxy.port);
 * proxy.set({ loss: 1 }); // blackout, both directions
 * await proxy.close();
 * ```
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { prng } from './prng.js';

/** How the network misbehaves, per direction. Probabilities are 0..1. */
export interface Impairments {
  /** Probability a datagram is dropped. Default 0. */
  loss?: number;
  /** Probability a datagram is delivered twice (each copy delayed on its own). Default 0. */
  duplicate?: number;
  /** Probability a datagram is held back and delivered after the next one (or after reorderHoldMs). Default 0. */
  reorder?: number;
  /** Fixed delay added to every datagram (ms). Default 0. */
  delayMs?: number;
  /** Extra delay drawn uniformly in [0, jitterMs) per datagram (ms); reorders too. Default 0. */
  jitterMs?: number;
}

/** Options of `LossyUdpProxy.start()`. The impairments given here apply to both directions. */
export interface LossyUdpProxyOptions extends Impairments {
  /** Where the proxy forwards: the server's address. */
  target: { host: string; port: number };
  /** PRNG seed (any integer). */
  seed: number;
  /** Address the proxy's sockets bind (default 127.0.0.1). */
  host?: string;
  /** Rewrite `CONNECT <ip> <port>` replies from the target to route SC through the proxy (default true). */
  rewriteConnect?: boolean;
  /** Longest time a reordered datagram waits for a successor (ms), default 20. */
  reorderHoldMs?: number;
  /** Overrides for client → server only. */
  up?: Impairments;
  /** Overrides for server → client only. */
  down?: Impairments;
}

/** Counters of a proxy. */
export interface LossyUdpProxyStats {
  /** Datagrams received from clients / from servers. */
  fromClients: number;
  fromServers: number;
  /** Datagrams delivered (copies included). */
  delivered: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  /** CONNECT replies rewritten. */
  rewritten: number;
}

type Dir = 'up' | 'down';

interface Link {
  clientAddress: string;
  clientPort: number;
  upstream: Socket;
  rand: Record<Dir, () => number>;
  held: Record<Dir, (() => void) | null>;
}

interface Face {
  socket: Socket;
  /** The server endpoint this face stands for. */
  address: string;
  port: number;
}

const CONNECT_RE = /^CONNECT (\S+) ([0-9]{1,5})(?: .*)?$/s;

/** A running proxy. */
export class LossyUdpProxy {
  /** The front port clients send to. */
  port = 0;
  readonly host: string;
  readonly stats: LossyUdpProxyStats = { fromClients: 0, fromServers: 0, delivered: 0, dropped: 0, duplicated: 0, reordered: 0, rewritten: 0 };

  private readonly target: { host: string; port: number };
  private readonly seed: number;
  private readonly rewriteConnect: boolean;
  private readonly reorderHoldMs: number;
  private readonly imp: Record<Dir, Required<Impairments>>;
  private readonly front: Socket;
  private readonly links = new Map<string, Link>();
  /** Faces by "ip:port" of the server endpoint they stand for. */
  private readonly faces = new Map<string, Promise<Face>>();
  private readonly faceList: Face[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  private constructor(o: LossyUdpProxyOptions) {
    this.target = o.target;
    this.seed = o.seed;
    this.host = o.host ?? '127.0.0.1';
    this.rewriteConnect = o.rewriteConnect ?? true;
    this.reorderHoldMs = o.reorderHoldMs ?? 20;
    const base = { loss: 0, duplicate: 0, reorder: 0, delayMs: 0, jitterMs: 0 };
    const both = pick(o);
    this.imp = { up: { ...base, ...both, ...pick(o.up ?? {}) }, down: { ...base, ...both, ...pick(o.down ?? {}) } };
    this.front = createSocket('udp4');
  }

  /**
   * Start a proxy in front of `target`.
   * @returns the running proxy; `proxy.port` is where clients send.
   */
  static async start(options: LossyUdpProxyOptions): Promise<LossyUdpProxy> {
    const p = new LossyUdpProxy(options);
    await p.listen();
    return p;
  }

  private async listen(): Promise<void> {
    this.front.on('message', (msg, rinfo) => this.fromClient(msg, rinfo, this.target.host, this.target.port));
    this.front.on('error', () => {});
    this.port = await bind(this.front, this.host);
  }

  /** Change impairments from now on, for one direction or both (e.g. `{ loss: 1 }` for a blackout). */
  set(imp: Impairments, direction: Dir | 'both' = 'both'): void {
    if (direction !== 'down') Object.assign(this.imp.up, pick(imp));
    if (direction !== 'up') Object.assign(this.imp.down, pick(imp));
  }

  /** Clients seen so far (count). */
  get clientCount(): number {
    return this.links.size;
  }

  /** Close every socket and pending timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const sockets = [this.front, ...[...this.links.values()].map((l) => l.upstream), ...this.faceList.map((f) => f.socket)];
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve();
      }
    })));
  }

  private link(address: string, port: number): Link {
    const key = `${address}:${port}`;
    let l = this.links.get(key);
    if (!l) {
      const index = this.links.size;
      const upstream = createSocket('udp4');
      upstream.on('error', () => {});
      l = {
        clientAddress: address,
        clientPort: port,
        upstream,
        rand: { up: prng(this.seed * 7919 + index * 2 + 1), down: prng(this.seed * 7919 + index * 2 + 2) },
        held: { up: null, down: null },
      };
      const link = l;
      upstream.on('message', (msg, rinfo) => this.fromServer(link, msg, rinfo));
      // Bound explicitly so the upstream port exists before the first send; sends queue until then.
      upstream.bind(0, this.host);
      this.links.set(key, l);
    }
    return l;
  }

  private fromClient(msg: Buffer, rinfo: RemoteInfo, toAddress: string, toPort: number): void {
    if (this.closed) return;
    this.stats.fromClients++;
    const l = this.link(rinfo.address, rinfo.port);
    this.impair(l, 'up', () => l.upstream.send(msg, toPort, toAddress));
  }

  private fromServer(l: Link, msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    this.stats.fromServers++;
    const fromTarget = rinfo.port === this.target.port && (rinfo.address === this.target.host || this.target.host === 'localhost');
    if (fromTarget && this.rewriteConnect && msg.length < 128) {
      const m = CONNECT_RE.exec(msg.toString('latin1'));
      if (m) {
        const ip = m[1] === '0.0.0.0' || m[1] === '::' ? this.target.host : m[1]!;
        const face = this.face(ip, Number(m[2]));
        // Decide now (deterministic order), deliver once the face is bound.
        this.impair(l, 'down', () => {
          void face.then((f) => {
            if (this.closed) return;
            this.stats.rewritten++;
            this.front.send(Buffer.from(`CONNECT ${this.host} ${f.socket.address().port}`, 'latin1'), l.clientPort, l.clientAddress);
          });
        });
        return;
      }
    }
    const face = fromTarget ? null : this.faces.get(`${rinfo.address}:${rinfo.port}`);
    if (!face) {
      this.impair(l, 'down', () => this.front.send(msg, l.clientPort, l.clientAddress));
      return;
    }
    this.impair(l, 'down', () => {
      void face.then((f) => {
        if (!this.closed) f.socket.send(msg, l.clientPort, l.clientAddress);
      });
    });
  }

  private face(address: string, port: number): Promise<Face> {
    const key = `${address}:${port}`;
    let f = this.faces.get(key);
    if (!f) {
      const socket = createSocket('udp4');
      socket.on('error', () => {});
      socket.on('message', (msg, rinfo) => this.fromClient(msg, rinfo, address, port));
      const face: Face = { socket, address, port };
      this.faceList.push(face);
      f = bind(socket, this.host).then(() => face);
      this.faces.set(key, f);
    }
    return f;
  }

  /** Apply loss, duplication, reordering and delay to one datagram; `deliver` sends one copy. */
  private impair(l: Link, dir: Dir, deliver: () => void): void {
    const imp = this.imp[dir];
    const rand = l.rand[dir];
    // Always draw the same number of values per datagram, so later decisions do not depend on earlier outcomes.
    const rLoss = rand();
    const rDup = rand();
    const rReorder = rand();
    const rJitter1 = rand();
    const rJitter2 = rand();
    if (rLoss < imp.loss) {
      this.stats.dropped++;
      return;
    }
    const send = (): void => {
      if (this.closed) return;
      this.stats.delivered++;
      try {
        deliver();
      } catch {
        // socket closing
      }
    };
    const copies = rDup < imp.duplicate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    const jitters = [rJitter1, rJitter2];
    for (let i = 0; i < copies; i++) {
      const delay = imp.delayMs + jitters[i]! * imp.jitterMs;
      const go = (): void => {
        send();
        const held = l.held[dir];
        if (held) {
          l.held[dir] = null;
          held();
        }
      };
      if (i === 0 && rReorder < imp.reorder && !l.held[dir]) {
        this.stats.reordered++;
        // Held until the next datagram of this direction goes out, or reorderHoldMs.
        let done = false;
        const release = (): void => {
          if (done) return;
          done = true;
          if (l.held[dir] === release) l.held[dir] = null;
          this.later(delay, send);
        };
        l.held[dir] = release;
        this.later(this.reorderHoldMs, release);
        continue;
      }
      this.later(delay, go);
    }
  }

  private later(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

function pick(o: Impairments): Impairments {
  const out: Impairments = {};
  if (o.loss !== undefined) out.loss = o.loss;
  if (o.duplicate !== undefined) out.duplicate = o.duplicate;
  if (o.reorder !== undefined) out.reorder = o.reorder;
  if (o.delayMs !== undefined) out.delayMs = o.delayMs;
  if (o.jitterMs !== undefined) out.jitterMs = o.jitterMs;
  return out;
}

function bind(socket: Socket, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      resolve(socket.address().port);
    });
  });
}
