/**
 * The data link (docs/cluster.md §4a): the node link's batches over a direct TCP connection to
 * each peer, instead of through nats-server. NATS keeps membership, the directory, and the job
 * of telling a dialer where to connect: a node answers `<cluster>.d.<nodeId>` requests with its
 * data address, its incarnation and a random token of that incarnation. The dialer presents the
 * token in its hello; anything else on the data port is dropped, bounded and counted.
 *
 * Each node dials each peer it sends to, lazily, on its first batch toward it; a connection
 * carries batches one way only (the peer's batches, and its acks, come over its own connection
 * or over NATS). The channel decides when to use it (link-channel.ts): only once nothing is in
 * flight over NATS, so the batches stay in sequence, and when it fails the unacknowledged
 * batches are sent again over NATS and the receiver drops those it already delivered.
 *
 * Wire: every message is `len u32 LE | batch` (the batch exactly as on NATS, docs/cluster.md §5),
 * after one hello from the dialer:
 * `'GWDL' | ver u8 = 1 | srcEpoch f64 | dstEpoch f64 | token[16] | idLen u8 | srcId` (38 + n
 * bytes), answered `'GWOK'` by the listener. The answer to the address request:
 * `ver u8 = 1 | epoch f64 | port u16 | token[16] | hostLen u8 | host` (28 + n bytes).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import net from 'node:net';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { BATCH_HEAD_BYTES } from './envelope.js';
import type { LinkChannel } from './link-channel.js';
import { receiveBatch } from './link-receive.js';
import { DATA_MAX_MESSAGE_BYTES, MAX_NODE_ID_BYTES } from './limits.js';
import type { NodeLink } from './node-link.js';
import type { NodeRef } from './node-id.js';

/** Bytes of the length before each batch on a data connection (and before each batch a channel keeps). */
export const FRAME_PREFIX_BYTES = 4;
const HELLO_MAGIC = Buffer.from('GWDL', 'latin1');
const HELLO_OK = Buffer.from('GWOK', 'latin1');
const DATA_VERSION = 1;
const TOKEN_BYTES = 16;
/** Hello bytes before the source id: magic, ver, srcEpoch, dstEpoch, token, idLen. */
const HELLO_HEAD_BYTES = 4 + 1 + 8 + 8 + TOKEN_BYTES + 1;
const HELLO_MAX_BYTES = HELLO_HEAD_BYTES + MAX_NODE_ID_BYTES;
const ADDRESS_HEAD_BYTES = 1 + 8 + 2 + TOKEN_BYTES + 1;
const NODE_ID_CHAR = /^[A-Za-z0-9_-]+$/;
/** A graceful close waits this long for the sockets to finish before destroying them (ms). */
const CLOSE_GRACE_MS = 1000;

export interface DataLinkOptions {
  /** Subject prefix (the cluster name). */
  cluster: string;
  /**
   * Address to listen on and to advertise; '' = the local address this node uses toward
   * `servers[0]`. An unspecified address (`0.0.0.0`, `::`) listens on every interface and
   * advertises that local address.
   */
  host: string;
  /** `DATA_PORT`; 0 = chosen by the OS. */
  port: number;
  /** NATS URL(s), to find the default host. */
  servers: string[];
  /** `DATA_CONNECT_TIMEOUT_MS`. */
  connectTimeoutMs: number;
  /** `DATA_HELLO_TIMEOUT_MS`. */
  helloTimeoutMs: number;
  /** `DATA_RETRY_MS`. */
  retryMs: number;
  /** `DATA_MAX_PENDING`. */
  maxPending: number;
  /** Authenticated incoming connections at most (one per peer node): `maxPeers`. */
  maxInbound: number;
}

export interface DataLinkStats {
  /** Dials started (an address request over NATS, then a TCP connect and a hello). */
  dials: number;
  /** Dials that failed: no answer, another incarnation answered, refused, timed out. */
  dialFailures: number;
  /** Outgoing data connections up now. */
  outbound: number;
  /** Authenticated incoming data connections now. */
  inbound: number;
  /** Data connections in use that were lost; their unacknowledged batches went again over NATS. */
  failovers: number;
  /** Batches sent again over NATS after a data connection was lost. */
  retransmitted: number;
  batchesSent: number;
  bytesSent: number;
  batchesReceived: number;
  bytesReceived: number;
  /** Incoming connections dropped before or at the hello: bad magic, version, token, incarnation, id, timeout, too many. */
  refused: number;
  /** Authenticated connections dropped for a bad length or a batch from another node than the hello's. */
  badMessages: number;
  /** Address requests answered. */
  addressRequests: number;
}

const enum State {
  Hello,
  Length,
  Body,
  Closed,
}

/** One outgoing data connection, used by one channel. */
export class DataConn {
  /** @internal */ closedByUs = false;
  constructor(
    private readonly data: DataLink,
    /** @internal */ readonly socket: net.Socket,
  ) {}

  /** Write one framed batch (length prefix included). Its bytes stay in the channel's window until acknowledged. */
  write(framed: Buffer): void {
    const stats = this.data.stats;
    stats.batchesSent++;
    stats.bytesSent += framed.length;
    this.socket.write(framed);
  }

  /** Bytes written and not yet handed to the kernel (part of the channel's in-flight bytes). */
  get backlog(): number {
    return this.socket.writableLength;
  }

  /** @internal */
  destroy(): void {
    this.closedByUs = true;
    this.socket.destroy();
  }
}

/** One incoming data connection: a hello, then length-prefixed batches from one node incarnation. */
class Inbound {
  state = State.Hello;
  private head = Buffer.allocUnsafe(HELLO_MAX_BYTES);
  private headLen = 0;
  private body: Buffer | null = null;
  private bodyLen = 0;
  private bodyPos = 0;
  srcId = '';
  srcEpoch = 0;
  private srcIdBytes: Buffer | null = null;
  timer: NodeJS.Timeout | null;

  constructor(
    private readonly data: DataLink,
    readonly socket: net.Socket,
  ) {
    this.timer = setTimeout(() => this.refuse(), data.options.helloTimeoutMs);
    this.timer.unref();
  }

  onData(chunk: Buffer): void {
    let p = 0;
    const n = chunk.length;
    while (p < n) {
      switch (this.state) {
        case State.Hello: {
          // Enough for the fixed part first, then the id whose length it gives.
          const want = this.headLen < HELLO_HEAD_BYTES ? HELLO_HEAD_BYTES : HELLO_HEAD_BYTES + this.head[HELLO_HEAD_BYTES - 1]!;
          const take = Math.min(want - this.headLen, n - p);
          chunk.copy(this.head, this.headLen, p, p + take);
          this.headLen += take;
          p += take;
          if (this.headLen >= 4 && this.head.compare(HELLO_MAGIC, 0, 4, 0, 4) !== 0) return this.refuse();
          if (this.headLen < want) break;
          if (want === HELLO_HEAD_BYTES) {
            const idLen = this.head[HELLO_HEAD_BYTES - 1]!;
            if (idLen === 0 || idLen > MAX_NODE_ID_BYTES) return this.refuse();
            break;
          }
          if (!this.accept()) return this.refuse();
          break;
        }
        case State.Length: {
          let len: number;
          if (this.headLen === 0 && n - p >= FRAME_PREFIX_BYTES) {
            len = chunk.readUInt32LE(p);
            p += FRAME_PREFIX_BYTES;
          } else {
            const take = Math.min(FRAME_PREFIX_BYTES - this.headLen, n - p);
            chunk.copy(this.head, this.headLen, p, p + take);
            this.headLen += take;
            p += take;
            if (this.headLen < FRAME_PREFIX_BYTES) break;
            len = this.head.readUInt32LE(0);
            this.headLen = 0;
          }
          if (len < BATCH_HEAD_BYTES + 1 || len > DATA_MAX_MESSAGE_BYTES) return this.bad();
          if (n - p >= len) {
            // The whole batch is in this chunk: delivered in place, no copy.
            const batch = chunk.subarray(p, p + len);
            p += len;
            if (!this.deliver(batch)) return;
            break;
          }
          this.bodyLen = len;
          this.bodyPos = 0;
          this.body = Buffer.allocUnsafe(len);
          this.state = State.Body;
          break;
        }
        case State.Body: {
          const body = this.body!;
          const take = Math.min(this.bodyLen - this.bodyPos, n - p);
          chunk.copy(body, this.bodyPos, p, p + take);
          this.bodyPos += take;
          p += take;
          if (this.bodyPos < this.bodyLen) break;
          this.body = null;
          this.state = State.Length;
          if (!this.deliver(body)) return;
          break;
        }
        case State.Closed:
          return;
      }
    }
  }

  /** Check the hello in `head`: our magic and version, our token, our incarnation, a valid foreign id. */
  private accept(): boolean {
    const h = this.head;
    const data = this.data;
    if (h[4] !== DATA_VERSION) return false;
    const srcEpoch = h.readDoubleLE(5);
    const dstEpoch = h.readDoubleLE(13);
    if (!Number.isSafeInteger(srcEpoch) || srcEpoch <= 0 || dstEpoch !== data.self.epoch) return false;
    if (!timingSafeEqual(h.subarray(21, 21 + TOKEN_BYTES), data.token)) return false;
    const idLen = h[HELLO_HEAD_BYTES - 1]!;
    const srcId = h.toString('latin1', HELLO_HEAD_BYTES, HELLO_HEAD_BYTES + idLen);
    if (!NODE_ID_CHAR.test(srcId) || srcId === data.self.nodeId) return false;
    const known = data.inbound.get(srcId);
    if (known === undefined && data.inbound.size >= data.options.maxInbound) return false;
    if (known !== undefined && known.srcEpoch > srcEpoch) return false;
    this.srcId = srcId;
    this.srcEpoch = srcEpoch;
    this.srcIdBytes = Buffer.from(h.subarray(HELLO_HEAD_BYTES, HELLO_HEAD_BYTES + idLen));
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    data.pending.delete(this);
    // A newer connection from the same node replaces the old one (the dialer lost it and came back).
    if (known !== undefined) known.close();
    data.inbound.set(srcId, this);
    data.stats.inbound = data.inbound.size;
    this.socket.write(HELLO_OK);
    this.state = State.Length;
    this.headLen = 0;
    return true;
  }

  /** One batch: it must be the hello's node and incarnation, then it takes the NATS path's checks. */
  private deliver(batch: Buffer): boolean {
    const id = this.srcIdBytes!;
    const idLen = batch[26]!;
    if (idLen !== id.length || batch.length < BATCH_HEAD_BYTES + idLen || batch.readDoubleLE(2) !== this.srcEpoch || id.compare(batch, BATCH_HEAD_BYTES, BATCH_HEAD_BYTES + idLen) !== 0) {
      this.bad();
      return false;
    }
    const stats = this.data.stats;
    stats.batchesReceived++;
    stats.bytesReceived += batch.length + FRAME_PREFIX_BYTES;
    receiveBatch(this.data.link, batch);
    return this.state !== State.Closed;
  }

  private refuse(): void {
    if (this.state === State.Closed) return;
    this.data.stats.refused++;
    this.close();
  }

  private bad(): void {
    if (this.state === State.Closed) return;
    this.data.stats.badMessages++;
    this.close();
  }

  close(): void {
    if (this.state === State.Closed) return;
    this.state = State.Closed;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.body = null;
    this.socket.destroy();
  }

  /** The socket closed (either side): forget it. */
  onClose(): void {
    this.state = State.Closed;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.body = null;
    const data = this.data;
    data.pending.delete(this);
    if (this.srcId !== '' && data.inbound.get(this.srcId) === this) {
      data.inbound.delete(this.srcId);
      data.stats.inbound = data.inbound.size;
    }
  }
}

/** A data link's counters, all 0 (a node on `dataLink: 'nats'` reports these). */
export function emptyDataLinkStats(): DataLinkStats {
  return {
    dials: 0,
    dialFailures: 0,
    outbound: 0,
    inbound: 0,
    failovers: 0,
    retransmitted: 0,
    batchesSent: 0,
    bytesSent: 0,
    batchesReceived: 0,
    bytesReceived: 0,
    refused: 0,
    badMessages: 0,
    addressRequests: 0,
  };
}

/**
 * A node's data listener, its dials toward peers and its answers to address requests. Built by
 * `Cluster.join` when `dataLink` is `'tcp'`; `NodeLink` hands it the channels that want a
 * connection.
 */
export class DataLink {
  readonly stats: DataLinkStats = emptyDataLinkStats();
  /** @internal */ token = randomBytes(TOKEN_BYTES);
  /** @internal authenticated incoming connections by source node id. */
  readonly inbound = new Map<string, Inbound>();
  /** @internal incoming connections before their hello. */
  readonly pending = new Set<Inbound>();
  private readonly outbound = new Set<DataConn>();
  private readonly dialSockets = new Set<net.Socket>();
  private server: net.Server | null = null;
  private sub: Subscription | null = null;
  private address: Buffer | null = null;
  private host = '';
  private port = 0;
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    /** @internal */ readonly link: NodeLink,
    /** @internal */ readonly options: Readonly<DataLinkOptions>,
  ) {}

  /** @internal this node's incarnation. */
  get self(): NodeRef {
    return this.link.self;
  }

  /** Where this node listens: `{ host, port }` once `listen` resolved. */
  get listening(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  /** Sockets open now (listener excluded): incoming, before and after their hello, and outgoing. */
  get openSockets(): number {
    return this.inbound.size + this.pending.size + this.outbound.size + this.dialSockets.size;
  }

  /** Listen on the data port and answer address requests. */
  async listen(): Promise<void> {
    const wanted = this.options.host;
    const unspecified = wanted === '0.0.0.0' || wanted === '::';
    const host = wanted !== '' && !unspecified ? wanted : await localAddressToward(this.options.servers[0]!);
    const server = net.createServer((socket) => this.incoming(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: in a node:cluster worker (`--workers`) a shared listen(0) would give every
      // worker the same port, and a peer's hello could reach the wrong worker.
      server.listen({ port: this.options.port, host: unspecified ? wanted : host, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    this.server = server;
    this.host = host;
    this.port = (server.address() as net.AddressInfo).port;
    this.encodeAddress();
    this.sub = this.nc.subscribe(`${this.options.cluster}.d.${this.self.nodeId}`, {
      callback: (_err, msg) => {
        if (this.closed || this.address === null) return;
        this.stats.addressRequests++;
        try {
          msg.respond(this.address);
        } catch {
          // The connection is closing; the dialer times out and stays on NATS.
        }
      },
    });
  }

  /** The node became a new incarnation: a new token, and the old incarnation's connections go. */
  reincarnate(): void {
    this.token = randomBytes(TOKEN_BYTES);
    this.encodeAddress();
    for (const conn of [...this.inbound.values()]) conn.close();
  }

  /** Close the incoming connection of `nodeId` (that incarnation or an older one). */
  dropInbound(nodeId: string, epoch = Infinity): void {
    const conn = this.inbound.get(nodeId);
    if (conn !== undefined && conn.srcEpoch <= epoch) conn.close();
  }

  /**
   * @internal `channel` sends over NATS and has no data connection: dial its peer, unless a dial
   * is running or failed less than `retryMs` ago.
   */
  want(channel: LinkChannel): void {
    if (this.closed || channel.dialing || channel.failed || channel.conn !== null || channel.readyConn !== null) return;
    const nowMs = Date.now();
    if (nowMs < channel.dataRetryAtMs) return;
    channel.dialing = true;
    this.stats.dials++;
    this.dial(channel).then(
      (conn) => {
        channel.dialing = false;
        if (this.closed || channel.failed) {
          conn.destroy();
          return;
        }
        this.outbound.add(conn);
        this.stats.outbound = this.outbound.size;
        channel.useConn(conn);
      },
      () => {
        channel.dialing = false;
        this.stats.dialFailures++;
        channel.dataRetryAtMs = Date.now() + this.options.retryMs;
      },
    );
  }

  /**
   * Close every socket and the listener. Graceful: outgoing connections are ended after what was
   * written (the link was flushed), the rest destroyed after `CLOSE_GRACE_MS`; abrupt: all at once.
   */
  async close(abrupt = false): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sub?.unsubscribe();
    this.sub = null;
    const waits: Promise<void>[] = [];
    const closedOf = (socket: net.Socket): Promise<void> => (socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve())));
    for (const socket of this.dialSockets) socket.destroy();
    for (const conn of this.outbound) {
      conn.closedByUs = true;
      waits.push(closedOf(conn.socket));
      if (abrupt) conn.socket.destroy();
      else conn.socket.end();
    }
    for (const conn of [...this.pending, ...this.inbound.values()]) {
      waits.push(closedOf(conn.socket));
      conn.close();
    }
    if (this.server !== null) {
      const server = this.server;
      waits.push(new Promise((resolve) => server.close(() => resolve())));
    }
    const grace = setTimeout(() => {
      for (const conn of this.outbound) conn.socket.destroy();
    }, CLOSE_GRACE_MS);
    await Promise.all(waits);
    clearTimeout(grace);
    this.server = null;
  }

  private incoming(socket: net.Socket): void {
    socket.on('error', () => undefined);
    if (this.closed || this.pending.size >= this.options.maxPending) {
      this.stats.refused++;
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = new Inbound(this, socket);
    this.pending.add(conn);
    socket.on('data', (chunk: Buffer) => conn.onData(chunk));
    socket.on('close', () => conn.onClose());
    socket.on('end', () => socket.end());
  }

  /** Ask the peer where its data port is, connect, say hello, wait for its answer. */
  private async dial(channel: LinkChannel): Promise<DataConn> {
    const peer = channel.peer;
    const deadline = Date.now() + this.options.connectTimeoutMs;
    const reply = await this.nc.request(`${this.options.cluster}.d.${peer.nodeId}`, new Uint8Array(0), { timeout: this.options.connectTimeoutMs });
    const address = decodeAddress(reply.data);
    if (address === null || address.epoch !== peer.epoch) throw new Error('no data address for that incarnation');
    const left = deadline - Date.now();
    if (left <= 0 || this.closed || channel.failed) throw new Error('dial abandoned');
    const socket = net.connect({ host: address.host, port: address.port });
    this.dialSockets.add(socket);
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('data dial timed out')), left);
        let got = Buffer.alloc(0);
        const onData = (chunk: Buffer): void => {
          got = Buffer.concat([got, chunk]);
          if (got.length < HELLO_OK.length) return;
          done(got.length === HELLO_OK.length && got.equals(HELLO_OK) ? null : new Error('bad answer to the hello'));
        };
        const onClose = (): void => done(new Error('refused'));
        const done = (error: Error | null): void => {
          clearTimeout(timer);
          socket.off('data', onData);
          socket.off('close', onClose);
          if (error) reject(error);
          else resolve();
        };
        socket.on('data', onData);
        socket.on('close', onClose);
        socket.once('connect', () => socket.write(this.hello(peer, address.token)));
      });
    } catch (error) {
      socket.destroy();
      throw error;
    } finally {
      this.dialSockets.delete(socket);
    }
    const conn = new DataConn(this, socket);
    // The listener sends nothing after its answer: more is a broken or hostile peer.
    socket.on('data', () => socket.destroy());
    socket.on('close', () => {
      this.outbound.delete(conn);
      this.stats.outbound = this.outbound.size;
      if (!conn.closedByUs && !this.closed) {
        channel.connLost(conn, Date.now());
      }
    });
    return conn;
  }

  private hello(peer: NodeRef, token: Buffer): Buffer {
    const id = Buffer.from(this.self.nodeId, 'latin1');
    const b = Buffer.allocUnsafe(HELLO_HEAD_BYTES + id.length);
    HELLO_MAGIC.copy(b, 0);
    b[4] = DATA_VERSION;
    b.writeDoubleLE(this.self.epoch, 5);
    b.writeDoubleLE(peer.epoch, 13);
    token.copy(b, 21);
    b[HELLO_HEAD_BYTES - 1] = id.length;
    id.copy(b, HELLO_HEAD_BYTES);
    return b;
  }

  private encodeAddress(): void {
    const host = Buffer.from(this.host, 'latin1');
    const b = Buffer.allocUnsafe(ADDRESS_HEAD_BYTES + host.length);
    b[0] = DATA_VERSION;
    b.writeDoubleLE(this.self.epoch, 1);
    b.writeUInt16LE(this.port, 9);
    this.token.copy(b, 11);
    b[ADDRESS_HEAD_BYTES - 1] = host.length;
    host.copy(b, ADDRESS_HEAD_BYTES);
    this.address = b;
  }
}

/** The answer to an address request; null when it is not one (it came over NATS: checked). */
export function decodeAddress(data: Uint8Array): { epoch: number; port: number; token: Buffer; host: string } | null {
  if (data.length < ADDRESS_HEAD_BYTES + 1 || data[0] !== DATA_VERSION) return null;
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const hostLen = b[ADDRESS_HEAD_BYTES - 1]!;
  if (hostLen === 0 || b.length !== ADDRESS_HEAD_BYTES + hostLen) return null;
  const epoch = b.readDoubleLE(1);
  const port = b.readUInt16LE(9);
  if (!Number.isSafeInteger(epoch) || epoch <= 0 || port === 0) return null;
  return { epoch, port, token: Buffer.from(b.subarray(11, 11 + TOKEN_BYTES)), host: b.toString('latin1', ADDRESS_HEAD_BYTES) };
}

/**
 * The local address this machine uses to reach `server` (a NATS URL): a UDP socket "connected"
 * toward it learns the route's source address without sending anything. Peers reach this node
 * the way it reaches NATS; 127.0.0.1 when NATS is on loopback.
 */
export async function localAddressToward(server: string): Promise<string> {
  let host = '127.0.0.1';
  let port = 4222;
  try {
    const url = new URL(server.includes('://') ? server : `nats://${server}`);
    host = url.hostname.replace(/^\[|\]$/g, '') || host;
    port = Number(url.port) || port;
  } catch {
    return '127.0.0.1';
  }
  const socket = dgram.createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  try {
    return await new Promise<string>((resolve) => {
      socket.on('error', () => resolve('127.0.0.1'));
      socket.connect(port, host, () => {
        try {
          resolve(socket.address().address);
        } catch {
          resolve('127.0.0.1');
        }
      });
    });
  } finally {
    socket.close();
  }
}
