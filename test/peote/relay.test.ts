/**
 * PeoteServer and PeoteClient through the gamewire Relay over real sockets. Owner and users use
 * different host names (aliases of 127.0.0.1) so they get separate connections instead of
 * local routing, as separate processes would.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Relay, silentLogger } from '../../src/relay/index.js';
import {
  PeoteClient,
  PeoteServer,
  Reason,
  RpcTypes as T,
  configureJointClient,
  defineRemote,
  destroyAllJointConnections,
  tcpConnector,
  webSocketConnector,
} from '../../src/peote/index.js';
import { JointClientConnection } from '../../src/joint/client-connection.js';
import type { WebSocketLike } from '../../src/transport/ws-stream.js';

let relay: Relay;
let port = 0;
const ws = webSocketConnector(WebSocket as unknown as new (url: string) => WebSocketLike);

beforeAll(async () => {
  relay = await Relay.listen({ host: '127.0.0.1', port: 0, logger: silentLogger });
  port = relay.port;
  // Host names are aliases: `ws-*` goes over WebSocket, everything else over TCP, all to 127.0.0.1.
  configureJointClient({ connect: (host, p) => (host.startsWith('ws-') ? ws('127.0.0.1', p) : tcpConnector('127.0.0.1', p)) });
});
afterAll(async () => {
  configureJointClient({ connect: tcpConnector });
  await relay.close();
});

let cleanup: (() => void)[] = [];
afterEach(async () => {
  for (const f of cleanup) f();
  cleanup = [];
  await new Promise((r) => setTimeout(r, 20));
  destroyAllJointConnections();
});

function track<T extends PeoteServer | PeoteClient>(x: T): T {
  cleanup.push(() => (x instanceof PeoteServer ? x.delete() : x.leave()));
  return x;
}

/** Resolves when `check` holds, polling; rejects after `ms`. */
function until(check: () => boolean, ms = 8000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() - start > ms) return reject(new Error('timed out'));
      setTimeout(poll, 5);
    };
    poll();
  });
}

let seed = 12345;
function rand(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}
function randomChunk(max: number): Uint8Array {
  const pick = rand(4);
  const len = pick === 0 ? max : pick === 1 ? 1 + rand(16) : 1 + rand(max);
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = rand(256);
  return out;
}
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

describe.each(['tcp', 'ws'])('through the relay (%s users)', (kind) => {
  const usersHost = kind === 'ws' ? 'ws-users' : 'users';

  it('exchanges random chunks up to maxChunkSize with every byte checked', async () => {
    const received = new Map<number, Uint8Array[]>();
    const broadcastChunk = randomChunk(32768);
    const server = track(
      new PeoteServer({
        onUserConnect: (s, u) => s.sendChunk(u, Uint8Array.of(u)),
        onDataChunk: (s, u, chunk) => {
          let list = received.get(u);
          if (!list) received.set(u, (list = []));
          list.push(chunk);
          s.sendChunk(u, chunk); // echo
        },
      }),
    );
    let created = false;
    server.create('owner', port, `chunks-${kind}`);
    const onCreate = until(() => server.created).then(() => (created = true));
    await onCreate;
    expect(created).toBe(true);

    const CLIENTS = 3;
    const PER_CLIENT = 12;
    const state = Array.from({ length: CLIENTS }, () => ({ userNr: -1, sent: [] as Uint8Array[], echoed: [] as Uint8Array[], broadcast: null as Uint8Array | null }));
    const clients = state.map((st) =>
      track(
        new PeoteClient({
          onEnter: (c) => {
            for (let i = 0; i < PER_CLIENT; i++) {
              const chunk = randomChunk(32768);
              st.sent.push(chunk);
              c.sendChunk(chunk);
            }
          },
          onDataChunk: (_c, chunk) => {
            if (st.userNr < 0) st.userNr = chunk[0]!;
            else if (st.echoed.length < PER_CLIENT) st.echoed.push(chunk);
            else st.broadcast = chunk;
          },
        }),
      ),
    );
    for (const c of clients) c.enter(usersHost, port, `chunks-${kind}`);
    await until(() => state.every((st) => st.echoed.length === PER_CLIENT), 15000);
    server.broadcastChunk(broadcastChunk);
    await until(() => state.every((st) => st.broadcast !== null));
    for (const st of state) {
      const atServer = received.get(st.userNr)!;
      expect(atServer.length).toBe(PER_CLIENT);
      for (let i = 0; i < PER_CLIENT; i++) {
        expect(same(atServer[i]!, st.sent[i]!)).toBe(true);
        expect(same(st.echoed[i]!, st.sent[i]!)).toBe(true);
      }
      expect(same(st.broadcast!, broadcastChunk)).toBe(true);
    }
    // A connection enters a joint once (joint.md §1): the three users got a connection each.
    expect(clients.map((c) => c.jointNr)).toEqual([0, 0, 0]);
    expect(JointClientConnection.find(usersHost, port, 2)).toBeDefined();
  });
});

describe('through the relay', () => {
  it('multiplexes many servers and clients over one connection per host:port', async () => {
    const SERVERS = 16;
    const PER_SERVER = 3;
    const got: string[][] = Array.from({ length: SERVERS }, () => []);
    const replies: string[] = [];
    const servers = Array.from({ length: SERVERS }, (_, i) =>
      track(
        new PeoteServer({
          onDataChunk: (s, u, chunk) => {
            const text = new TextDecoder().decode(chunk);
            got[i]!.push(text);
            s.sendChunk(u, new TextEncoder().encode(`${i}<-${text}`));
          },
        }),
      ),
    );
    servers.forEach((s, i) => s.create('mux-owner', port, `mux-${i}`));
    await until(() => servers.every((s) => s.created));
    expect(servers.map((s) => s.jointNr).sort((a, b) => a - b)).toEqual([...Array(SERVERS).keys()]);
    const clients: PeoteClient[] = [];
    for (let i = 0; i < SERVERS; i++) {
      for (let k = 0; k < PER_SERVER; k++) {
        const c = track(
          new PeoteClient({
            onEnter: (cl) => cl.sendChunk(new TextEncoder().encode(`c${i}.${k}`)),
            onDataChunk: (_c, chunk) => replies.push(new TextDecoder().decode(chunk)),
          }),
        );
        c.enter('mux-users', port, `mux-${i}`);
        clients.push(c);
      }
    }
    await until(() => replies.length === SERVERS * PER_SERVER);
    expect(JointClientConnection.find('mux-owner', port)).toBeDefined();
    expect(JointClientConnection.find('mux-users', port)).toBeDefined();
    for (let i = 0; i < SERVERS; i++) {
      expect(got[i]!.sort()).toEqual([...Array(PER_SERVER).keys()].map((k) => `c${i}.${k}`));
    }
    expect(replies.sort()).toEqual(clients.map((_, n) => `${Math.floor(n / PER_SERVER)}<-c${Math.floor(n / PER_SERVER)}.${n % PER_SERVER}`).sort());
    // One owner connection for all servers; the k-th user of every joint shares connection k.
    expect(JointClientConnection.find('mux-owner', port, 1)).toBeUndefined();
    expect(JointClientConnection.find('mux-users', port, PER_SERVER - 1)).toBeDefined();
    expect(JointClientConnection.find('mux-users', port, PER_SERVER)).toBeUndefined();
    expect(new Set(clients.map((c) => c.jointNr)).size).toBe(SERVERS); // jIn 0..15 on each user connection
  });

  it('runs RPC both ways with the §12 encoding', async () => {
    const Chat = defineRemote({ say: [T.string, T.bool], numbers: [T.byte, T.uint16, T.int16, T.int32, T.float, T.double] });
    const Back = defineRemote({ ack: [T.map(T.int, T.string)] });
    const calls: unknown[] = [];
    const server = track(
      new PeoteServer({
        onUserConnect: (s, u) => s.setRemote(u, Chat.implement({ say: (t, b) => calls.push(['say', t, b]), numbers: (...n) => calls.push(['numbers', ...n]) })),
        onRemote: (s, u, id) => s.proxy(u, Back, id).ack(new Map([[1, 'a'], [2, 'b']])),
      }),
    );
    server.create('rpc-owner', port, 'rpc');
    await until(() => server.created);
    const client = track(
      new PeoteClient({
        onRemote: (c, id) => {
          const chat = c.proxy(Chat, id);
          chat.say('héllo', true);
          chat.numbers(255, 65535, -2, 0x7fffffff, 1.5, 1.2345678901234);
          c.setRemote(Back.implement({ ack: (m) => calls.push(['ack', [...m!]]) }), 5);
        },
      }),
    );
    client.enter('rpc-users', port, 'rpc');
    await until(() => calls.length === 3);
    expect(calls).toEqual([
      ['say', 'héllo', true],
      ['numbers', 255, 65535, -2, 0x7fffffff, 1.5, 1.2345678901234],
      ['ack', [[1, 'a'], [2, 'b']]],
    ]);
  });

  it('reports the Reason paths of a real relay', async () => {
    const log: string[] = [];
    const owner = track(
      new PeoteServer({
        onUserConnect: (_s, u) => log.push(`connect ${u}`),
        onUserDisconnect: (_s, u, r) => log.push(`user ${u} ${Reason.toString(r)}`),
        onError: (_s, u, r) => log.push(`owner error ${u} ${Reason.toString(r)}`),
      }),
    );
    owner.create('r-owner', port, 'reasons');
    await until(() => owner.created);
    // The id is taken on the relay: another connection's create fails with ID.
    const dup = track(new PeoteServer({ onError: (_s, u, r) => log.push(`dup ${u} ${Reason.toString(r)}`) }));
    dup.create('r-other', port, 'reasons');
    // No such joint: ID.
    track(new PeoteClient({ onError: (_c, r) => log.push(`nojoint ${Reason.toString(r)}`) })).enter('r-users', port, 'nope');
    await until(() => log.length === 2);
    expect(log.sort()).toEqual(['dup -1 ID', 'nojoint ID']);
    log.length = 0;

    // Leave: DISCONNECT; the user's connection closing: CLOSE.
    const a = track(new PeoteClient({ onDisconnect: (_c, r) => log.push(`a ${Reason.toString(r)}`) }));
    a.enter('r-users', port, 'reasons');
    await until(() => log.length === 1);
    a.leave();
    await until(() => log.length === 2);
    const b = track(new PeoteClient({ onDisconnect: (_c, r) => log.push(`b ${Reason.toString(r)}`) }));
    b.enter('r-users2', port, 'reasons');
    await until(() => log.length === 3);
    JointClientConnection.find('r-users2', port)!.destroy();
    await until(() => log.length === 5);
    expect(log).toEqual(['connect 0', 'user 0 DISCONNECT', 'connect 0', 'b CLOSE', 'user 0 CLOSE']);
    log.length = 0;

    // The owner deletes: DISCONNECT; the owner's connection closes: CLOSE.
    const c = track(new PeoteClient({ onDisconnect: (_c, r) => log.push(`c ${Reason.toString(r)}`) }));
    c.enter('r-users', port, 'reasons');
    await until(() => log.length === 1);
    owner.delete();
    await until(() => log.length === 2);
    const owner2 = track(new PeoteServer({ onError: (_s, u, r) => log.push(`owner2 ${u} ${Reason.toString(r)}`) }));
    owner2.create('r-owner', port, 'reasons');
    await until(() => owner2.created);
    const d = track(new PeoteClient({ onDisconnect: (_c, r) => log.push(`d ${Reason.toString(r)}`), onEnter: () => log.push('d in') }));
    d.enter('r-users', port, 'reasons');
    await until(() => log.length === 3);
    JointClientConnection.find('r-owner', port)!.destroy();
    await until(() => log.length === 5);
    expect(log).toEqual(['connect 0', 'c DISCONNECT', 'd in', 'owner2 -1 CLOSE', 'd CLOSE']);
  });
});
