/**
 * PeoteServer / PeoteClient against a scripted relay (FakeStream): exact bytes, every Reason
 * path, chunk reassembly across arbitrary re-fragmentation, and local routing beside an online
 * server.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PeoteClient, PeoteServer, Reason, defineRemote, destroyAllJointConnections } from '../../src/peote/index.js';
import { FakeStream, hexOf, installFakeConnector, settle } from './fake-stream.js';

let fake: ReturnType<typeof installFakeConnector>;
let cleanup: (() => void)[] = [];
beforeEach(() => {
  fake = installFakeConnector();
});
afterEach(() => {
  for (const f of cleanup) f();
  cleanup = [];
  destroyAllJointConnections();
  fake.restore();
});

function track<T extends PeoteServer | PeoteClient>(x: T): T {
  cleanup.push(() => (x instanceof PeoteServer ? x.delete() : x.leave()));
  return x;
}

function stream(): FakeStream {
  return fake.streams.at(-1)!;
}

/** An online server with joint jOwn 0 created on the fake relay. */
async function onlineServer(options: ConstructorParameters<typeof PeoteServer>[0] = {}, id = 'j'): Promise<{ server: PeoteServer; s: FakeStream }> {
  const server = track(new PeoteServer(options));
  server.create('relay', 1, id);
  await settle();
  const s = stream();
  expect(hexOf(s.take())).toBe(hexOf(Uint8Array.from([0, 0, 1, id.length, ...new TextEncoder().encode(id)])));
  s.feed([0, 3, 1, 0, 0]);
  return { server, s };
}

/** A client in jIn 0 on the fake relay. */
async function onlineClient(options: ConstructorParameters<typeof PeoteClient>[0] = {}, jIn = 0): Promise<{ client: PeoteClient; s: FakeStream }> {
  const client = track(new PeoteClient(options));
  client.enter('relay', 1, 'j');
  await settle();
  const s = stream();
  s.take();
  s.feed([0, 3, 1, 0, jIn]);
  return { client, s };
}

describe('PeoteServer on a relay', () => {
  it('creates, reports users, and sends chunks as prefix + payload in one frame', async () => {
    const log: unknown[] = [];
    const { server, s } = await onlineServer({
      onCreate: (sv) => log.push(['create', sv.jointNr]),
      onUserConnect: (_sv, u) => log.push(['connect', u]),
      onUserDisconnect: (_sv, u, r) => log.push(['disconnect', u, Reason.toString(r)]),
      onDataChunk: (_sv, u, c) => log.push(['chunk', u, c.length]),
    });
    s.feed([0, 4, 0, 0, 0, 3]); // userConnect user 3
    expect(server.sendChunk(3, new Uint8Array(240).fill(0xaa))).toBe(true);
    expect(server.sendChunk(4, Uint8Array.of(1))).toBe(false); // no such user
    await settle();
    const out = s.take();
    expect(hexOf(out.subarray(0, 6))).toBe('80 f4 80 03 ef 01'); // size 244: route 2 + prefix 2 + 240
    expect(out.length).toBe(2 + 244);
    // C3-style input from the original: prefix and payload in separate frames.
    s.feed([0x04, 0x80, 0x03, 0xef, 0x01]);
    s.feed(Uint8Array.from([0x80, 0xf2, 0x80, 0x03, ...new Uint8Array(240)]));
    s.feed([0, 5, 0, 1, 0, 3, 0]);
    s.feed([0, 4, 0, 0, 0, 3]);
    s.feed([0, 5, 0, 1, 0, 3, 1]);
    expect(log).toEqual([
      ['create', 0],
      ['connect', 3],
      ['chunk', 3, 240],
      ['disconnect', 3, 'DISCONNECT'],
      ['connect', 3],
      ['disconnect', 3, 'CLOSE'],
    ]);
  });

  it('reassembles chunks across arbitrary re-fragmentation (§8, §10)', async () => {
    const chunks: Uint8Array[] = [];
    const { s } = await onlineServer({ onDataChunk: (_sv, _u, c) => chunks.push(c) });
    s.feed([0, 4, 0, 0, 0, 0]);
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const sent: Uint8Array[] = [];
    const stream: number[] = [];
    for (let i = 0; i < 60; i++) {
      const len = 1 + (i % 5 === 0 ? rand(32768) : rand(300));
      const chunk = new Uint8Array(len).map(() => rand(256));
      sent.push(chunk);
      const prefix = len - 1 < 128 ? [len - 1] : [((len - 1) & 0x7f) | 0x80, (len - 1) >> 7];
      stream.push(...prefix, ...chunk);
    }
    // Cut the stream anywhere and send each piece as its own frame(s), like a streaming relay.
    for (let at = 0; at < stream.length; ) {
      const n = Math.min(stream.length - at, 1 + rand(5000));
      const piece = stream.slice(at, at + n);
      at += n;
      for (let p = 0; p < piece.length; p += 32765) {
        const data = piece.slice(p, p + 32765);
        const size = data.length + 2;
        const head = size < 128 ? [size] : [(size >> 8) + 0x80, size & 0xff];
        s.feed(Uint8Array.from([...head, 0x80, 0x00, ...data]));
      }
    }
    expect(chunks.length).toBe(sent.length);
    for (let i = 0; i < sent.length; i++) expect(Buffer.compare(chunks[i]!, sent[i]!)).toBe(0);
  });

  it('reports create errors with the §3.1 mapping', async () => {
    for (const [err, reason] of [
      [2, Reason.ID],
      [1, Reason.MAX],
      [7, Reason.MALICIOUS],
    ] as const) {
      const errors: unknown[] = [];
      const server = track(new PeoteServer({ onError: (_s, u, r) => errors.push([u, r]) }));
      server.create('relay', 1, 'x');
      await settle();
      stream().feed([0, 3, 1, 1, err]);
      await settle();
      expect(errors).toEqual([[-1, reason]]);
      expect(server.created).toBe(false);
    }
  });

  it('reports DISCONNECT when the relay cannot be reached', async () => {
    fake.restore();
    fake = installFakeConnector({ fail: true });
    const errors: unknown[] = [];
    track(new PeoteServer({ onError: (_s, u, r) => errors.push([u, r]) })).create('relay', 1, 'x');
    track(new PeoteClient({ onError: (_c, r) => errors.push(['client', r]) })).enter('relay', 1, 'y');
    await settle();
    expect(errors).toEqual([
      [-1, Reason.DISCONNECT],
      ['client', Reason.DISCONNECT],
    ]);
  });

  it('loses its users with CLOSE when the connection closes', async () => {
    const log: unknown[] = [];
    const { server, s } = await onlineServer({
      onUserDisconnect: (_sv, u, r) => log.push(['disconnect', u, r]),
      onError: (_sv, u, r) => log.push(['error', u, r]),
    });
    s.feed([0, 4, 0, 0, 0, 1]);
    s.close();
    expect(log).toEqual([
      ['disconnect', 1, Reason.CLOSE],
      ['error', -1, Reason.CLOSE],
    ]);
    expect(server.created).toBe(false);
    expect(server.jointNr).toBe(-1);
  });

  it('broadcasts to the relay and to local users; delete sends cmd 3', async () => {
    const got: string[] = [];
    const { server, s } = await onlineServer({ netLag: 0, onData: () => {} });
    s.feed([0, 4, 0, 0, 0, 0]);
    const local = track(new PeoteClient({ onData: (_c, b) => got.push(`local ${[...b]}`), onEnter: (c) => got.push(`enter ${c.jointNr}`) }));
    local.enter('relay', 1, 'j');
    await settle();
    expect(got).toEqual(['enter 128']); // online server: at once, nothing sent to the relay
    expect(s.take().length).toBe(0);
    server.broadcast(Uint8Array.of(0x41, 0x42, 0x43));
    server.broadcast(Uint8Array.of(0x44), 256);
    server.broadcast(Uint8Array.of(0x45), 0);
    await new Promise((r) => setTimeout(r, 5));
    expect(hexOf(s.take())).toBe('01 01 04 80 41 42 43 01 01 02 80 44');
    expect(got).toEqual(['enter 128', 'local 65,66,67', 'local 69']);
    server.delete();
    await settle();
    expect(hexOf(s.take())).toBe('00 03 00 01 00');
  });

  it('a client entering the id of a local server not up yet waits for the create, then enters locally (issue 16)', async () => {
    const server = track(new PeoteServer());
    server.create('relay', 1, 'early');
    const log: string[] = [];
    const client = track(new PeoteClient({ onEnter: () => log.push('enter'), onError: (_c, r) => log.push(`error ${r}`) }));
    client.enter('relay', 1, 'early');
    await settle();
    expect(log).toEqual([]);
    const s = stream();
    s.take();
    s.feed([0, 3, 1, 0, 0]);
    await settle();
    await new Promise((r) => setTimeout(r, 60)); // the local session's lag
    expect(log).toEqual(['enter']);
    expect(client.local).toBe(true);
  });

  it('a client waiting for a local create that is refused goes to the relay and hears its answer', async () => {
    const server = track(new PeoteServer());
    server.create('relay', 1, 'refused');
    const errors: number[] = [];
    track(new PeoteClient({ onError: (_c, r) => errors.push(r) })).enter('relay', 1, 'refused');
    await settle();
    const s = stream();
    s.take();
    s.feed([0, 3, 1, 1, 2]); // create err 2: id taken
    await settle();
    expect(hexOf(s.take())).toMatch(/^00 01 01 07 /); // the enter, sent only now
    s.feed([0, 3, 1, 1, 1]); // enter err 1: no such joint
    await settle();
    expect(errors).toEqual([Reason.ID]);
  });

  it('delete before the create reply drops the joint once it arrives', async () => {
    const created = vi.fn();
    const server = track(new PeoteServer({ onCreate: created }));
    server.create('relay', 1, 'j');
    server.delete();
    await settle();
    const s = stream();
    s.take();
    s.feed([0, 3, 1, 0, 4]);
    await settle();
    expect(created).not.toHaveBeenCalled();
    expect(hexOf(s.take())).toBe('00 03 00 01 04');
  });
});

describe('RPC announcement bytes (joint.md §15.3 R2, R3)', () => {
  it('server setRemote(obj, 0) sends the 1-byte chunk 00; client setRemote(obj, 5) sends 05', async () => {
    const Empty = defineRemote({ test: [] });
    const { server, s } = await onlineServer({}, 'srv');
    s.feed([0, 4, 0, 0, 0, 2]);
    server.setRemote(2, Empty.implement({ test: () => {} }));
    await settle();
    expect(hexOf(s.take())).toBe('04 80 02 00 00'); // frame to user 2: prefix 00, payload 00
    const { client, s: cs } = await onlineClient({}, 1);
    client.setRemote(Empty.implement({ test: () => {} }), 5);
    client.proxy(Empty, 0).test();
    await settle();
    expect(hexOf(cs.take())).toBe('03 01 00 05 04 01 01 00 00'); // R3, then R4: prefix 01, payload 00 00
  });
});

describe('PeoteClient on a relay', () => {
  it('enters, sends chunks, hears inDisconnect reasons', async () => {
    const log: unknown[] = [];
    const { client, s } = await onlineClient({
      onEnter: (c) => log.push(['enter', c.jointNr]),
      onDataChunk: (_c, chunk) => log.push(['chunk', hexOf(chunk)]),
      onDisconnect: (_c, r) => log.push(['disconnect', Reason.toString(r)]),
    });
    client.sendChunk(Uint8Array.of(1, 2, 3));
    await settle();
    expect(hexOf(s.take())).toBe('05 00 02 01 02 03');
    s.feed([0x03, 0x00, 0x00, 0x09]); // a 1-byte chunk
    s.feed([0, 4, 0, 2, 0, 1]); // the owner's connection closed
    expect(log).toEqual([
      ['enter', 0],
      ['chunk', '09'],
      ['disconnect', 'CLOSE'],
    ]);
    expect(client.entered).toBe(false);
  });

  it('maps enter errors with the §3.1 table', async () => {
    for (const [err, reason] of [
      [1, Reason.ID],
      [2, Reason.MALICIOUS],
      [3, Reason.ID],
      [4, Reason.FULL],
      [5, Reason.MAX],
    ] as const) {
      const errors: number[] = [];
      const client = track(new PeoteClient({ onError: (_c, r) => errors.push(r) }));
      client.enter('relay', 1, 'x');
      await settle();
      stream().feed([0, 3, 1, 1, err]);
      expect(errors).toEqual([reason]);
    }
  });

  it('gets DISCONNECT when the owner deletes, CLOSE when our connection closes', async () => {
    const reasons: number[] = [];
    const { s } = await onlineClient({ onDisconnect: (_c, r) => reasons.push(r) });
    s.feed([0, 4, 0, 2, 0, 0]);
    const kicked = await onlineClient({ onDisconnect: (_c, r) => reasons.push(r) });
    kicked.s.feed([0, 4, 0, 2, 0, 2]); // gamewire relay kick extension (joint.md §17)
    const second = await onlineClient({ onDisconnect: (_c, r) => reasons.push(r) });
    second.s.close();
    expect(reasons).toEqual([Reason.DISCONNECT, Reason.KICK, Reason.CLOSE]);
  });

  it('raw mode delivers pieces as they arrive; a bad chunk prefix is MALICIOUS', async () => {
    const pieces: string[] = [];
    const { s } = await onlineClient({ onData: (_c, b) => pieces.push(hexOf(b)) });
    s.feed([0x05, 0x00, 0x01]);
    s.feed([0x02, 0x03, 0x04]);
    expect(pieces).toEqual(['01', '02 03 04']);
    const errors: number[] = [];
    const chunked = await onlineClient({ onDataChunk: () => {}, onError: (_c, r) => errors.push(r), maxChunkSize: 16 }, 1);
    chunked.s.feed([0x03, 0x01, 0x80, 0x00]); // zero continuation byte: non-minimal varint
    expect(errors).toEqual([Reason.MALICIOUS]);
  });

  it('leave sends cmd 2 and closes the shared connection when it was the last joint', async () => {
    const { client, s } = await onlineClient();
    client.leave();
    await settle();
    expect(hexOf(s.take())).toBe('00 02 00 01 00');
    expect(s.ended).toBe(true);
  });
});
