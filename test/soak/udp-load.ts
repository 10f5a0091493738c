/**
 * UDP load: a UdpPipe server that echoes every datagram; good UdpPipe clients talk to it through
 * the seeded lossy proxy (latency, 25% loss, 25% duplicates, reordering) and check every echo
 * that arrives byte for byte (UDP may lose or repeat a datagram; it may never change one).
 * Hostile peers send garbage, bad tokens, oversize datagrams, HELLO floods, complete handshakes
 * then vanish or send junk, and connect/disconnect storms.
 */
import { UdpPipe, type UdpSession } from '../../src/udp/index.js';
import { LossyUdpProxy } from '../helpers/lossy-udp-proxy.js';
import { sleep, waitFor, type LoadSettings } from './component.js';
import { IMPAIRED_NETWORK } from './events-load.js';
import { LoadHarness } from './load-harness.js';
import { matchesPattern, patternSlice, type SoakRng } from './pattern.js';
import type { Tally } from './tally.js';
import { rawUdp, type RawUdp } from './udp-socket.js';

const TOKEN = 'soak-token';
const SEND_MS = 20;
/** Timers of the soak's sessions: shorter than the defaults so stalls and timeouts happen in minutes. */
export const SOAK_UDP_OPTIONS = {
  pingIntervalMs: 500,
  stallAfterMs: 2500,
  disconnectAfterMs: 15_000,
  handshakeTimeoutMs: 4000,
};

interface Good {
  index: number;
  pipe: UdpPipe;
  seq: number;
  connected: boolean;
  /** Echo seqs seen, by `seq % SEEN_WINDOW` (0: none): duplicate detection in fixed memory. */
  seen: Uint32Array;
  sent: number;
  unique: number;
  duplicates: number;
}

/**
 * Sequence numbers a good client remembers to tell a duplicate echo from a new one (count): the
 * last 8192 seqs, about 80 s of sending. A slot per seq, allocated once, so the harness's own
 * bookkeeping does not grow through the run (a Set of the same size grew its table for minutes).
 */
const SEEN_WINDOW = 8192;

/** Datagram: 'D', client (u8), seq (u32 BE), then pattern bytes of stream 2000+client at seq*37. */
function payloadLength(seq: number): number {
  return 1 + ((seq * 7919) % 1100);
}

const HOSTILE_KINDS = ['garbage', 'bad-token', 'oversize', 'hello-flood', 'ghost', 'session-junk', 'storm'] as const;
type UdpKind = (typeof HOSTILE_KINDS)[number];

export class UdpLoad extends LoadHarness<UdpKind> {
  readonly name = 'udp';
  protected readonly kinds = HOSTILE_KINDS;
  private server: UdpPipe | null = null;
  private proxy: LossyUdpProxy | null = null;
  private port = 0;
  private readonly goods: Good[] = [];
  private readonly hostilePipes = new Set<UdpPipe>();

  constructor(tally: Tally, settings: LoadSettings) {
    super(tally, settings, 0x0d0d);
  }

  async start(): Promise<void> {
    const server = new UdpPipe({ token: TOKEN, maxClients: 64, ...SOAK_UDP_OPTIONS });
    server.onNewMessage = (m, s) => {
      try {
        server.send(m, s);
      } catch (err) {
        this.tally.figure(`udp: echo refused (${(err as Error).message.slice(0, 40)})`);
      }
    };
    server.onError = (err) => this.tally.error('udp', `${err.code}: ${err.message.replace(/[0-9.]+:\d+/g, 'ADDR')}`);
    server.onDisconnect = (_s, reason) => this.tally.drop('udp', reason);
    server.onBadToken = () => this.tally.figure('udp: bad tokens refused');
    server.onMaxClients = () => this.tally.figure('udp: refused, server full');
    server.onStalled = () => this.tally.figure('udp: server-side stalls');
    this.server = server;
    this.port = await server.start(0, '127.0.0.1');
    this.proxy = await LossyUdpProxy.start({ target: { host: '127.0.0.1', port: this.port }, seed: this.settings.seed ^ 0x0d0d, ...IMPAIRED_NETWORK });
    const count = Math.max(1, Math.round(4 * this.settings.scale));
    for (let i = 0; i < count; i++) this.goods.push(this.makeGood(i));
    if (!(await waitFor(() => this.goods.every((g) => g.connected), 20_000))) throw new Error('udp: good clients did not connect through the lossy proxy');
    this.sending = true;
    this.every(SEND_MS, () => this.send());
  }

  private makeGood(index: number): Good {
    const pipe = new UdpPipe({ token: TOKEN, handshakeRetries: 30, ...SOAK_UDP_OPTIONS, handshakeTimeoutMs: 15_000 });
    const g: Good = { index, pipe, seq: 0, connected: false, seen: new Uint32Array(SEEN_WINDOW), sent: 0, unique: 0, duplicates: 0 };
    pipe.onConnect = () => (g.connected = true);
    pipe.onNewMessage = (m) => this.onEcho(g, m);
    pipe.onStalled = () => this.tally.figure('udp: good client stalls');
    pipe.onUnstalled = (_s, flushed) => this.tally.figure('udp: good client queued datagrams flushed', flushed);
    pipe.onError = (err) => this.tally.figure(`udp: good client error ${err.code}`);
    pipe.onDisconnect = (_s: UdpSession, reason) => {
      g.connected = false;
      if (this.sending) this.tally.figure(`udp: good client sessions lost (${reason})`);
      if (this.sending) {
        // UDP sessions may die on a bad enough network; the client reconnects, as a game would.
        setTimeout(() => {
          if (this.sending) pipe.connect('127.0.0.1', this.proxy!.port);
        }, 100);
      }
    };
    pipe.connect('127.0.0.1', this.proxy!.port);
    return g;
  }

  private send(): void {
    if (!this.sending) return;
    for (const g of this.goods) {
      if (!g.connected) continue;
      for (let i = 0; i < 2; i++) {
        const seq = ++g.seq;
        const len = payloadLength(seq);
        const d = Buffer.allocUnsafe(6 + len);
        d[0] = 0x44;
        d[1] = g.index;
        d.writeUInt32BE(seq, 2);
        patternSlice(2000 + g.index, seq * 37, len).copy(d, 6);
        try {
          g.pipe.send(d);
          g.sent++;
        } catch (err) {
          this.tally.violation(`udp: good send refused: ${(err as Error).message}`);
        }
      }
    }
  }

  private onEcho(g: Good, m: Buffer): void {
    if (m.length < 7 || m[0] !== 0x44 || m[1] !== g.index) {
      this.tally.corrupt++;
      return this.tally.violation(`udp: client ${g.index} got a datagram it never sent (${m.length} bytes)`);
    }
    const seq = m.readUInt32BE(2);
    if (seq < 1 || seq > g.seq || m.length !== 6 + payloadLength(seq) || !matchesPattern(2000 + g.index, seq * 37, m.subarray(6))) {
      this.tally.corrupt++;
      return this.tally.violation(`udp: client ${g.index} echo #${seq} corrupt`);
    }
    const slot = seq % SEEN_WINDOW;
    if (g.seen[slot] === seq) {
      g.duplicates++;
      return;
    }
    g.seen[slot] = seq;
    g.unique++;
    this.tally.checked(m.length - 6);
  }

  /** HELLO with the right token, padded like our client; resolves the SC port or null. */
  private async handshake(u: RawUdp): Promise<number | null> {
    const hello = Buffer.alloc(64, 0x20);
    hello.write(`HELLO ${TOKEN}`, 'latin1');
    for (let i = 0; i < 4; i++) {
      u.send(hello, this.port);
      if (await waitFor(() => u.received.some((r) => r.toString('latin1').startsWith('CONNECT ')), 300)) break;
    }
    const reply = u.received.find((r) => r.toString('latin1').startsWith('CONNECT '));
    if (!reply) return null;
    const sc = Number(reply.toString('latin1').split(' ')[2]);
    u.received.length = 0;
    u.send('CONNECT  ', sc);
    await waitFor(() => u.received.length > 0, 500);
    return sc;
  }

  private checkReplies(u: RawUdp, largestRequest: number): void {
    for (const r of u.received) if (r.length > largestRequest) this.tally.violation(`udp: a ${r.length}-byte reply to requests of at most ${largestRequest} bytes`);
    this.tally.figure('udp: replies to hostile peers', u.received.length);
  }

  protected async hostile(kind: UdpKind, rng: SoakRng): Promise<void> {
    if (kind === 'storm') {
      const pipes: UdpPipe[] = [];
      for (let i = rng.range(3, 10); i > 0; i--) {
        const p = new UdpPipe({ token: rng.chance(0.7) ? TOKEN : 'wrong', handshakeTimeoutMs: 1500 });
        this.hostilePipes.add(p);
        pipes.push(p);
        p.connect('127.0.0.1', this.port);
      }
      await sleep(rng.range(20, 800));
      for (const p of pipes) {
        if (rng.chance(0.5)) await p.close().catch(() => undefined);
        p.destroy();
        this.hostilePipes.delete(p);
      }
      return;
    }
    const u = await rawUdp(this.hostiles);
    try {
      switch (kind) {
        case 'garbage': {
          let largest = 0;
          for (let i = rng.range(5, 50); i > 0; i--) {
            const b = rng.bytes(rng.range(0, 1200));
            largest = Math.max(largest, b.length);
            u.send(b, this.port);
          }
          await sleep(300);
          this.checkReplies(u, largest);
          break;
        }
        case 'bad-token': {
          // One socket per request, so each reply is matched to its request (no reply larger than it).
          for (let i = rng.range(3, 15); i > 0; i--) {
            const req = `HELLO ${rng.pick(['wrong', 'soak-toke', 'soak-tokenn', 'x'.repeat(100), ''])}`;
            const one = await rawUdp(this.hostiles);
            one.send(req, this.port);
            await sleep(60);
            this.checkReplies(one, req.length);
            one.close();
          }
          break;
        }
        case 'oversize':
          u.send(rng.bytes(1201 + rng.int(8000)), this.port);
          u.send(Buffer.alloc(1300, 0x41), this.port);
          await sleep(200);
          this.checkReplies(u, 0);
          break;
        case 'hello-flood': {
          // Correct token, never CONNECT: the half-open cap and the per-IP HELLO rate must hold.
          const hello = `HELLO ${TOKEN}${' '.repeat(50)}`;
          for (let i = rng.range(5, 30); i > 0; i--) u.send(hello, this.port);
          await sleep(500);
          this.checkReplies(u, hello.length);
          break;
        }
        case 'ghost': {
          const sc = await this.handshake(u);
          if (sc === null) return this.tally.figure('udp: ghost handshakes refused (rate, half-open cap or full)');
          for (let i = rng.range(1, 20); i > 0; i--) u.send(rng.bytes(rng.range(1, 1200)), sc);
          await sleep(rng.range(100, 1000));
          break; // vanish without CLOSE: the server's disconnect timeout frees the session
        }
        case 'session-junk': {
          const sc = await this.handshake(u);
          if (sc === null) return this.tally.figure('udp: session-junk handshakes refused (rate, half-open cap or full)');
          const words = ['CONNECT 10.1.2.3 9', 'CONNECTED', 'GO AWAY!', 'HELLO soak-token', 'PONG', 'CLOSED', 'PING x', 'CONNECT'];
          for (let i = rng.range(3, 20); i > 0; i--) u.send(rng.pick(words), sc);
          const other = await rawUdp(this.hostiles);
          other.send('CLOSE ', sc); // from a stranger: must be ignored
          other.send(rng.bytes(100), sc);
          await sleep(300);
          if (other.received.length > 0) this.tally.violation('udp: a session socket answered a stranger');
          other.close();
          if (rng.chance(0.5)) u.send('CLOSE ', sc);
          await sleep(200);
          break;
        }
      }
    } finally {
      u.close();
    }
  }

  async drain(): Promise<void> {
    await sleep(500); // echoes in flight through the proxy's delays
    for (const g of this.goods) {
      this.tally.figure('udp: good datagrams sent', g.sent);
      this.tally.figure('udp: good echoes received (unique)', g.unique);
      this.tally.figure('udp: good echoes duplicated by the network', g.duplicates);
    }
  }

  protected async shutdown(): Promise<void> {
    for (const p of this.hostilePipes) p.destroy();
    for (const g of this.goods) {
      await Promise.race([g.pipe.close().catch(() => undefined), sleep(500)]);
      g.pipe.destroy();
    }
    await this.proxy?.close();
    if (this.server) {
      const st = this.server.stats() as unknown as Record<string, number>;
      for (const [k, v] of Object.entries(st)) if (typeof v === 'number' && v > 0) this.tally.figure(`udp: server ${k}`, v);
      await Promise.race([this.server.close().catch(() => undefined), sleep(1000)]);
      this.server.destroy();
    }
  }

  progress(): string {
    const unique = this.goods.reduce((a, g) => a + g.unique, 0);
    const sent = this.goods.reduce((a, g) => a + g.sent, 0);
    return `udp ${unique}/${sent} echoed, ${this.server?.clients.length ?? 0} sessions, ${this.hostiles.size} hostile`;
  }
}
