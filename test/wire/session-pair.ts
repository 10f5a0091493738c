/**
 * Shared by the Session tests (session.test.ts, encryption.test.ts): a client and a server
 * Session over a memory link, with recorders of what each side's handler saw.
 */
import { Session, nowMs, resolveSessionLimits, type SessionHandler, type SessionOptions } from '../../src/wire/session.js';
import { nodePlatform as nodeWirePlatform } from '../../src/platform/node.js';
import { parseKey } from '../../src/wire/key.js';
import type { WirePlatform } from '../../src/platform/types.js';
import { memoryPair } from './memory-link.js';

export const KEY128 = parseKey('0C03EA65238DD2C25EB87CE563868098') as Uint8Array;
export const KEY256 = parseKey('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff') as Uint8Array;

/** What one side's SessionHandler was told. */
export interface Recorder {
  established: boolean;
  messages: Uint8Array[];
  errors: string[];
  closes: { reason: string; byPeer: boolean; code: number }[];
  handler: SessionHandler;
}

export function recorder(): Recorder {
  const r: Recorder = {
    established: false,
    messages: [],
    errors: [],
    closes: [],
    handler: {
      onEstablished: () => (r.established = true),
      onMessage: (b, o, l) => r.messages.push(b.slice(o, o + l)),
      onError: (reason) => r.errors.push(reason),
      onClose: (reason, byPeer, code) => r.closes.push({ reason, byPeer, code }),
    },
  };
  return r;
}

export interface PairOptions {
  clientKey?: Uint8Array | null;
  serverKey?: Uint8Array | null;
  clientPlatform?: WirePlatform;
  serverPlatform?: WirePlatform;
  client?: SessionOptions;
  server?: SessionOptions;
  /** Tick both sessions every 5 ms (timeouts, keepalives). */
  tick?: boolean;
}

/** Sessions and timers a test made; `cleanup()` destroys and clears them (call it in afterEach). */
export class SessionPairs {
  private readonly sessions: Session[] = [];
  private readonly timers: ReturnType<typeof setInterval>[] = [];

  /** A client and a server session over a memory link. */
  pair(o: PairOptions = {}) {
    const [cs, ss] = memoryPair();
    const sr = recorder();
    const cr = recorder();
    const server = new Session('server', ss, o.serverKey ?? null, o.serverPlatform ?? nodeWirePlatform, resolveSessionLimits(o.server), sr.handler);
    const client = new Session('client', cs, o.clientKey ?? null, o.clientPlatform ?? nodeWirePlatform, resolveSessionLimits(o.client), cr.handler);
    this.sessions.push(server, client);
    if (o.tick) {
      this.every(5, () => {
        server.tick(nowMs());
        client.tick(nowMs());
      });
    }
    return { server, client, sr, cr, cs, ss };
  }

  /** Run `fn` every `ms` until `cleanup()`. */
  every(ms: number, fn: () => void): void {
    this.timers.push(setInterval(fn, ms));
  }

  /** Sessions made by hand, destroyed at `cleanup()` too. */
  track(...sessions: Session[]): void {
    this.sessions.push(...sessions);
  }

  cleanup(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const s of this.sessions.splice(0)) s.destroy();
  }
}

export const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v);

/** A frame as on the wire: u32 LE body length, then the body. */
export const frame = (body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, true);
  out.set(body, 4);
  return out;
};
