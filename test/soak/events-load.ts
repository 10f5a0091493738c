/**
 * Events load: good EventClients behind a lossy proxy (latency, 25% loss, 25% duplicates,
 * reordering) send events whose verdict follows a known rule and whose data is checked by the
 * judge; the server notifies them and they check each notification arrives at most once and
 * intact. Hostile peers send garbage, oversize and malformed JSON, registration floods,
 * events for unknown or spoofed clients, duplicate storms, OHAI floods and one IP trying to own
 * the registry (issue 14), while a new good client from 127.0.0.1 must still register and get
 * its verdict; no hostile address ever gets more bytes back than it sent.
 */
import { EventClient, EventServer } from '../../src/events/index.js';
import * as msg from '../../src/events/messages.js';
import {
  MAX_REGISTRATIONS_PER_ADDRESS_COUNT,
  MAX_REGISTRATIONS_PER_IP_COUNT,
  OHAI_REPLIES_PER_SECOND,
  OHAI_REPLY_BURST_COUNT,
} from '../../src/events/limits.js';
import { LossyUdpProxy } from '../helpers/lossy-udp-proxy.js';
import { sleep, waitFor, type LoadSettings } from './component.js';
import { LoadHarness } from './load-harness.js';
import { patternText, type SoakRng } from './pattern.js';
import type { Tally } from './tally.js';
import { rawUdp } from './udp-socket.js';

/** The impaired network between good clients and the UDP servers (issue 9). */
export const IMPAIRED_NETWORK = { loss: 0.25, duplicate: 0.25, reorder: 0.1, delayMs: 5, jitterMs: 15 };

const RETRY_MS = 150;
const RETRIES = 10;
const EVENT_EVERY_MS = 40;
const NOTIFY_EVERY_MS = 100;
/** NOTIFY ids each good EventClient remembers against duplicates (its `notifyDedupWindow`). */
const NOTIFY_DEDUP_WINDOW = 512;
/**
 * unprovenGraceMs of the soak's server (default 30 s): shorter than its registrationIdleMs
 * (20 s), so a full registry evicts hostile unproven registrations instead of waiting for them
 * to expire, and a good client refused by a full registry gets in after at most this long.
 */
const SOAK_UNPROVEN_GRACE_MS = 5000;
/** How many recent sequence numbers a checker remembers (bounded, so the harness does not grow). */
const WINDOW = 4096;

/** The server's rule: legal unless n is a multiple of 3. */
function rule(n: number): boolean {
  return n % 3 !== 0;
}

/** A bounded set of recent keys: remembers the last WINDOW inserted (hostile duplicate ids). */
class RecentSet {
  private readonly set = new Set<string>();
  /** False when `key` was already there. */
  add(key: string): boolean {
    if (this.set.has(key)) return false;
    this.set.add(key);
    if (this.set.size > WINDOW) this.set.delete(this.set.values().next().value as string);
    return true;
  }
}

/**
 * The last WINDOW sequence numbers (>= 1) of one good stream, a slot per number allocated once:
 * a good client's numbers come in order, so this remembers the same as a RecentSet of them, in
 * fixed memory (a Set of strings filled for minutes at 10 notifies/s and read as heap growth).
 */
class SeqWindow {
  private readonly slots = new Uint32Array(WINDOW);
  /** False when `n` was already there. */
  add(n: number): boolean {
    const i = n % WINDOW;
    if (this.slots[i] === n) return false;
    this.slots[i] = n;
    return true;
  }
}

interface Good {
  index: number;
  client: EventClient;
  seq: number;
  inflight: number;
  /** Event numbers judged (each must be judged once). */
  judgedSeen: SeqWindow;
  notifySeen: SeqWindow;
  notifySeq: number;
}

const HOSTILE_KINDS = ['garbage', 'bad-json', 'oversize', 'register-flood', 'unregistered', 'spoof', 'duplicate-storm', 'ohai-flood', 'registry-fill'] as const;
type EventsKind = (typeof HOSTILE_KINDS)[number];

export class EventsLoad extends LoadHarness<EventsKind> {
  readonly name = 'events';
  protected readonly kinds = HOSTILE_KINDS;
  private server: EventServer | null = null;
  private proxy: LossyUdpProxy | null = null;
  private port = 0;
  private readonly goods: Good[] = [];
  private readonly goodIds = new Map<string, Good>();
  private readonly judged = new RecentSet();
  private probes = 0;
  /** Probes run one at a time, all from one local port: each replaces the last one's registration (maxRegistrationsPerAddress). */
  private probeChain: Promise<void> = Promise.resolve();
  private probePort = 0;

  constructor(tally: Tally, settings: LoadSettings) {
    super(tally, settings, 0xe7e7);
  }

  private judge(clientId: string, eventId: string, data: unknown): boolean {
    const d = data as { c?: unknown; n?: unknown; pad?: unknown; spoof?: unknown; dup?: unknown } | null;
    if (d && typeof d === 'object') {
      if (d.spoof !== undefined && this.goodIds.has(clientId)) this.tally.violation(`events: a spoofed event was judged as good client ${clientId}`);
      if (d.dup !== undefined && !this.judged.add(`dup:${eventId}`)) this.tally.violation(`events: event ${eventId} judged twice`);
      if (typeof (d as { probe?: unknown }).probe === 'number') {
        const n = (d as { probe: number }).probe;
        if (d.pad !== patternText(7000, n * 13, 50)) {
          this.tally.corrupt++;
          this.tally.violation(`events: a probe's event data #${n} corrupt`);
        }
        return rule(n);
      }
      const good = this.goodIds.get(clientId);
      if (good && typeof d.n === 'number') {
        if (!good.judgedSeen.add(d.n)) this.tally.violation(`events: good event ${d.n} of client ${good.index} judged twice`);
        const want = patternText(good.index + 100, d.n * 13, 8 + (d.n % 200));
        if (d.pad !== want) {
          this.tally.corrupt++;
          this.tally.violation(`events: event data of client ${good.index} #${d.n} corrupt`);
        } else this.tally.checked(want.length);
        return rule(d.n);
      }
    }
    return this.rng.chance(0.5);
  }

  async start(): Promise<void> {
    this.server = new EventServer({
      port: 0,
      host: '127.0.0.1',
      middleware: { judge: (c, e, d) => this.judge(c, e, d) },
      retryTimeoutMs: RETRY_MS,
      maxRetries: RETRIES,
      registrationLimit: 32,
      registrationIdleMs: 20_000,
      unprovenGraceMs: SOAK_UNPROVEN_GRACE_MS,
      serverName: 'soak',
      // The server's debug log is rate-limited: these counts are a sample, stats.dropped the total.
      log: (line) => this.tally.error('events', `(log sample) ${line.replace(/^dropped datagram from [0-9a-f.:]+: /, 'dropped: ').replace(/ \(\d+ similar lines suppressed\)$/, '')}`),
      onError: (err, context) => this.tally.error('events', `${context}: ${err.message}`),
      onNotifyFailed: () => this.tally.figure('events: notifies failed after all retries'),
      onExpire: (c) => {
        if (this.goodIds.has(c.id)) this.tally.violation('events: a good client registration expired');
      },
    });
    const addr = await this.server.listen();
    this.port = addr.port;
    this.proxy = await LossyUdpProxy.start({ target: { host: '127.0.0.1', port: this.port }, seed: this.settings.seed, rewriteConnect: false, ...IMPAIRED_NETWORK });
    const count = Math.max(1, Math.round(3 * this.settings.scale));
    for (let i = 0; i < count; i++) {
      const good: Good = { index: i, client: null as unknown as EventClient, seq: 0, inflight: 0, judgedSeen: new SeqWindow(), notifySeen: new SeqWindow(), notifySeq: 0 };
      good.client = new EventClient({
        host: '127.0.0.1',
        retryTimeoutMs: RETRY_MS,
        maxRetries: RETRIES,
        // The server resends a NOTIFY for (RETRIES + 1) × RETRY_MS = 1.65 s; 512 ids is 51 s of
        // notifies at this load. With the default 4096 the window would take 7 minutes to fill
        // (10 notifies/s), and a bounded window still filling reads as growth in a 10-minute soak;
        // a smaller one is full within the warm-up and its eviction path runs all along.
        notifyDedupWindow: NOTIFY_DEDUP_WINDOW,
        onNotify: (data) => this.onNotify(good, data),
        onError: (err) => this.tally.error('events', `good client: ${err.message}`),
      });
      await good.client.register('127.0.0.1', this.proxy.port);
      this.goods.push(good);
      this.goodIds.set(good.client.id, good);
    }
    this.sending = true;
    this.every(EVENT_EVERY_MS, () => this.sendEvents());
    this.every(NOTIFY_EVERY_MS, () => this.sendNotifies());
    // Proven (a verdict acknowledged) before any hostile arrives: proven registrations are never evicted.
    const proven = () => this.server!.clients().filter((c) => c.proven && this.goodIds.has(c.id)).length === this.goods.length;
    if (!(await waitFor(proven, 15_000))) throw new Error('events: good clients did not prove their address within 15 s');
  }

  private onNotify(good: Good, data: unknown): void {
    const d = data as { s?: unknown; pad?: unknown } | null;
    if (!d || typeof d.s !== 'number') return this.tally.violation('events: a notify without our fields reached a good client');
    if (!good.notifySeen.add(d.s)) return this.tally.violation(`events: notify ${d.s} delivered twice to client ${good.index}`);
    const want = patternText(good.index + 200, d.s * 17, 16 + (d.s % 300));
    if (d.pad !== want) {
      this.tally.corrupt++;
      return this.tally.violation(`events: notify ${d.s} to client ${good.index} corrupt`);
    }
    this.tally.checked(want.length);
    this.tally.figure('events: notifies delivered');
  }

  private sendEvents(): void {
    if (!this.sending) return;
    for (const g of this.goods) {
      // Empty the polled bookkeeping (§7.2) as a game loop does; otherwise each collection fills
      // to maxRecords (4096) and the soak would measure that as growth.
      g.client.takeRollbacks();
      g.client.takeConfirmations();
      g.client.takeNotifies();
      if (g.inflight >= 8) continue;
      const n = ++g.seq;
      g.inflight++;
      const priority = n % 4 === 0 ? 'high' : 'normal';
      this.tally.figure('events: good events sent');
      g.client
        .event({ c: g.index, n, pad: patternText(g.index + 100, n * 13, 8 + (n % 200)) }, { priority })
        .then(
          (verdict) => {
            const want = rule(n) ? 'LEGAL' : 'ILLEGAL';
            if (verdict !== want) this.tally.violation(`events: event ${n} of client ${g.index} judged ${verdict}, rule says ${want}`);
            else this.tally.figure('events: verdicts checked');
          },
          (err: Error) => this.tally.figure(`events: good events without verdict (${err.message.slice(0, 40)})`),
        )
        .finally(() => g.inflight--);
    }
  }

  private sendNotifies(): void {
    if (!this.sending || !this.server) return;
    for (const g of this.goods) {
      const s = ++g.notifySeq;
      try {
        if (this.server.notify(g.client.id, { s, pad: patternText(g.index + 200, s * 17, 16 + (s % 300)) }) === null) {
          this.tally.violation(`events: good client ${g.index} not registered for notify`);
        } else this.tally.figure('events: notifies sent');
      } catch (err) {
        this.tally.figure(`events: notify refused (${(err as Error).message.replace(/\d+/g, 'N').slice(0, 50)})`);
      }
    }
  }

  protected async hostile(kind: EventsKind, rng: SoakRng): Promise<void> {
    const u = await rawUdp(this.hostiles, 64, kind === 'registry-fill' ? this.lockoutAddress() : this.hostileAddress(rng));
    const port = this.port;
    const started = Date.now();
    const uuid = () => `${rng.int(1e9).toString(16)}-hostile-${rng.int(1e9)}`;
    try {
      switch (kind) {
        case 'garbage':
          for (let i = rng.range(5, 40); i > 0; i--) u.send(rng.bytes(rng.range(0, 2000)), port);
          break;
        case 'bad-json': {
          const texts = [
            '{"method": 5}', '[]', 'null', '"EVENT"', '{"method": "EVENT"}', '{"method": "REGISTER"}',
            '{"method": "EVENT", "cuuid": 1, "euuid": [], "event_data": {}, "timestamp": 0, "retry": "x", "priority": 7}',
            '{"method": "OK NOTIFY", "cuuid": "x"}', '{"method": "OK EVENT", "cuuid": "x", "euuid": "y"}',
            '{"method": "AUTH", "cuuid": "x"}', '{"method": "REGISTER", "cuuid": "x", "encryption": ["a", "b"]}',
            `${'['.repeat(3000)}${']'.repeat(3000)}`, '{"a": 1, "a": 2, "method": "OHAI"}', '{"method": "OHAI", "version": null}',
            '\ud800', '{"__proto__": {"method": "EVENT"}}', '{"method": "EVENT", "cuuid": "x", "euuid": "y", "event_data": 1e999}',
          ];
          for (let i = rng.range(5, 30); i > 0; i--) u.send(rng.pick(texts), port);
          break;
        }
        case 'oversize':
          u.send(`{"method": "REGISTER", "cuuid": "${'x'.repeat(10300 + rng.int(20000))}"}`, port);
          u.send(rng.bytes(10241), port);
          break;
        case 'register-flood': {
          // One socket, many client ids (issue 14 item 3): it keeps one registration at most.
          for (let i = rng.range(10, 60); i > 0; i--) u.send(msg.register(uuid()), port);
          await sleep(200);
          const here = this.registeredFrom(u.socket.address().address, u.socket.address().port);
          if (here > MAX_REGISTRATIONS_PER_ADDRESS_COUNT) this.tally.violation(`events: one address holds ${here} registrations`);
          break;
        }
        case 'unregistered':
          for (let i = rng.range(3, 20); i > 0; i--) {
            u.send(msg.event({ cuuid: uuid(), euuid: uuid(), dataJson: '{"x": 1}', timestamp: '2026-01-01 00:00:00.000000', priority: 'normal' }, 0), port);
          }
          break;
        case 'spoof': {
          // A good client's cuuid from another address: must never be judged as that client.
          const good = this.goods[rng.int(this.goods.length)];
          if (!good) break;
          for (let i = rng.range(1, 10); i > 0; i--) {
            u.send(msg.event({ cuuid: good.client.id, euuid: uuid(), dataJson: '{"spoof": true}', timestamp: '2026-01-01 00:00:00.000000', priority: 'high' }, 0), port);
          }
          break;
        }
        case 'duplicate-storm': {
          const cuuid = uuid();
          u.send(msg.register(cuuid), port);
          await waitFor(() => u.received.length > 0, 500);
          const text = msg.event({ cuuid, euuid: uuid(), dataJson: `{"dup": ${rng.int(1e6)}}`, timestamp: '2026-01-01 00:00:00.000000', priority: 'normal' }, 0);
          for (let i = rng.range(10, 50); i > 0; i--) u.send(text, port);
          break;
        }
        case 'ohai-flood': {
          // OHAI answers are rate-limited per IP (issue 14 item 4): a burst, then one a second.
          for (let i = rng.range(10, 50); i > 0; i--) u.send(msg.ohai(rng.chance(0.5) ? '1.0.3' : '0.0.1', uuid()), port);
          await sleep(300);
          const allowed = OHAI_REPLY_BURST_COUNT + Math.ceil(((Date.now() - started) / 1000) * OHAI_REPLIES_PER_SECOND);
          if (u.received.length > allowed) this.tally.violation(`events: ${u.received.length} answers to an OHAI flood (at most ${allowed})`);
          this.tally.figure('events: ohai-flood OHAIs answered', u.received.length);
          break;
        }
        case 'registry-fill': {
          // One IP tries to own the registry (issue 14 item 3): the 60 REGISTERs with new
          // ids from one socket, then a REGISTER from each of 12-20 more sockets of that IP. It keeps
          // at most maxRegistrationsPerIp, and a good client from 127.0.0.1 still registers (a full
          // registry evicts unproven registrations after the grace) and gets its verdict.
          const ip = u.socket.address().address;
          for (let i = 0; i < 60; i++) u.send(msg.register(uuid()), port);
          const more = rng.range(12, 20);
          for (let i = 0; i < more; i++) {
            const s = await rawUdp(this.hostiles, 4, ip);
            s.send(msg.register(uuid()), port);
            await sleep(5);
            s.close();
          }
          await sleep(200);
          const held = this.registeredFrom(ip);
          if (held > MAX_REGISTRATIONS_PER_IP_COUNT) this.tally.violation(`events: one IP holds ${held} registrations (maxRegistrationsPerIp ${MAX_REGISTRATIONS_PER_IP_COUNT})`);
          this.tally.figure('events: registry-fill registrations held', held);
          await this.probe(kind);
          break;
        }
      }
      await sleep(rng.range(100, 600));
      for (const r of u.received) if (r.length > 10240) this.tally.violation('events: a reply larger than 10240 bytes');
      // No reflector (issue 14 item 4): never more bytes to an address than it sent.
      if (u.bytesReceived > u.bytesSent) this.tally.violation(`events: ${u.bytesReceived} bytes answered to ${u.bytesSent} bytes from one address (${kind})`);
      this.tally.figure('events: replies to hostile peers', u.received.length);
    } finally {
      u.close();
    }
  }

  /** Registrations the server holds from `ip` (and `port`, if given). */
  private registeredFrom(ip: string, port?: number): number {
    return this.server!.clients().filter((c) => c.address === ip && (port === undefined || c.port === port)).length;
  }

  /** Run a probe after the ones already queued (see probeChain). */
  private probe(attack: string): Promise<void> {
    const run = this.probeChain.then(() => this.probeNow(attack));
    this.probeChain = run.catch(() => undefined);
    return run;
  }

  /**
   * A new good EventClient from 127.0.0.1 registers while an attack runs (retrying on BYE
   * REGISTER for the grace a full registry may need) and gets the verdict the rule says for
   * one event. A refusal or a wrong verdict is a violation (unless the soak is closing).
   */
  private async probeNow(attack: string): Promise<void> {
    if (this.hostiles.closing) return;
    const n = ++this.probes;
    const make = (port: number) =>
      new EventClient({ host: '127.0.0.1', port, retryTimeoutMs: RETRY_MS, maxRetries: RETRIES, onError: (err) => this.tally.error('events', `probe: ${err.message}`) });
    let client = make(this.probePort);
    const release = this.hostiles.hold(() => void client.close());
    try {
      try {
        this.probePort = (await client.listen()).port;
      } catch {
        // The last probe's port was taken meanwhile: a new one (the old registration expires).
        await client.close();
        client = make(0);
        this.probePort = (await client.listen()).port;
      }
      const until = Date.now() + SOAK_UNPROVEN_GRACE_MS + 3000;
      for (;;) {
        try {
          await client.register('127.0.0.1', this.port);
          break;
        } catch (err) {
          if (this.hostiles.closing) return;
          if (Date.now() > until) {
            this.tally.violation(`events: a good client could not register during ${attack}: ${(err as Error).message}`);
            return;
          }
          this.tally.figure('events: probe registrations refused, retried');
          await sleep(250);
        }
      }
      const verdict = await client.event({ probe: n, pad: patternText(7000, n * 13, 50) }, { priority: 'normal' });
      const want = rule(n) ? 'LEGAL' : 'ILLEGAL';
      if (verdict !== want) this.tally.violation(`events: a probe's event ${n} judged ${verdict}, rule says ${want}`);
      else {
        this.tally.checked(50);
        this.tally.figure(`events: good probes served during ${attack}`);
      }
    } catch (err) {
      if (!this.hostiles.closing) this.tally.violation(`events: a good probe failed during ${attack}: ${(err as Error).message}`);
    } finally {
      await client.close();
      release();
    }
  }

  async drain(timeoutMs: number): Promise<void> {
    await waitFor(() => this.goods.every((g) => g.inflight === 0), timeoutMs);
    const left = this.goods.reduce((a, g) => a + g.inflight, 0);
    if (left > 0) this.tally.violation(`events: ${left} good events never settled (no verdict, no timeout)`);
  }

  protected async shutdown(): Promise<void> {
    this.clearTimers();
    for (const g of this.goods) await g.client.close();
    await this.proxy?.close();
    if (this.server) {
      const s = this.server.stats;
      this.tally.figure('events: server datagrams received', s.received);
      this.tally.figure('events: server datagrams dropped (bad input, unknown sender)', s.dropped);
      this.tally.figure('events: duplicate events answered from the window', s.duplicates);
      this.tally.figure('events: registrations refused (limit)', s.registrationsRejected);
      this.tally.figure('events: registrations evicted (address replaced, or unproven past the grace)', s.evicted);
      this.tally.figure('events: replies withheld (reply credit)', s.repliesWithheld);
      this.tally.figure('events: resends withheld (unproven)', s.resendsWithheld);
      this.tally.figure('events: OHAIs left unanswered (rate per IP)', s.ohaiLimited);
      this.tally.figure('events: server bytes in', s.bytesIn);
      this.tally.figure('events: server bytes out', s.bytesOut);
      this.tally.figure('events: judged', s.judged);
      this.tally.figure('events: judgement resends', s.judgementResends);
      this.tally.figure('events: notify resends', s.notifyResends);
      if (s.expired > 0) this.tally.drop('events', 'registration expired', s.expired);
      await this.server.close();
    }
    for (const g of this.goods) {
      const s = g.client.stats;
      this.tally.figure('events: good client event resends', s.eventResends);
      this.tally.figure('events: good client duplicate notifies suppressed', s.duplicateNotifies);
      this.tally.figure('events: good client timeouts', s.timeouts);
    }
  }

  progress(): string {
    const verdicts = this.tally.figures['events: verdicts checked'] ?? 0;
    return `events ${verdicts} verdicts, ${this.tally.figures['events: notifies delivered'] ?? 0} notifies, ${this.hostiles.size} hostile`;
  }
}
