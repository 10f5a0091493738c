import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  JointClientConnection,
  createErrorReason,
  destroyAllJointConnections,
  enterErrorReason,
  type InJointListener,
  type OwnJointListener,
} from '../../src/joint/client-connection.js';
import { FakeStream, hexOf, installFakeConnector, settle } from '../peote/fake-stream.js';

const id = (s: string) => new TextEncoder().encode(s);

function ownListener(): OwnJointListener & { log: unknown[][] } {
  const log: unknown[][] = [];
  return {
    log,
    userConnect: (u) => log.push(['connect', u]),
    userDisconnect: (u, r) => log.push(['disconnect', u, r]),
    data: (u, b, o, l) => log.push(['data', u, hexOf(b.subarray(o, o + l))]),
    closed: (r) => log.push(['closed', r]),
  };
}

function inListener(): InJointListener & { log: unknown[][] } {
  const log: unknown[][] = [];
  return {
    log,
    data: (b, o, l) => log.push(['data', hexOf(b.subarray(o, o + l))]),
    gone: (r) => log.push(['gone', r]),
    closed: (r) => log.push(['closed', r]),
  };
}

let fake: ReturnType<typeof installFakeConnector>;
beforeEach(() => {
  fake = installFakeConnector();
});
afterEach(() => {
  destroyAllJointConnections();
  fake.restore();
});

/** The connection (opening) and, once the test has queued its first joint, its stream. */
function open(): { c: JointClientConnection; s: FakeStream } {
  const c = JointClientConnection.get(fake.hooks, 'relay', 1);
  const s = new Proxy({} as FakeStream, {
    get(_t, key) {
      const stream = fake.streams.at(-1)!;
      const value = Reflect.get(stream, key);
      return typeof value === 'function' ? value.bind(stream) : value;
    },
  });
  return { c, s };
}

describe('JointClientConnection', () => {
  it('shares one connection per host:port', async () => {
    const a = JointClientConnection.get(fake.hooks, 'relay', 1);
    const b = JointClientConnection.get(fake.hooks, 'relay', 1);
    const c = JointClientConnection.get(fake.hooks, 'relay', 2);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    a.enter(id('x'), inListener(), vi.fn());
    c.enter(id('x'), inListener(), vi.fn());
    await settle();
    expect(fake.streams).toHaveLength(2);
  });

  it('sends create with the lowest free cmdNr and installs the listener on OK (§3, §4.1)', async () => {
    const { c, s } = open();
    const own = ownListener();
    const done = vi.fn();
    c.create(id('ab'), own, done);
    c.create(id('cd'), ownListener(), vi.fn());
    await settle();
    expect(hexOf(s.take())).toBe('00 00 01 02 61 62 00 00 02 02 63 64');
    expect(s.flushes).toBe(1); // both commands in one write
    // OK reply, then a userConnect and data in the same read: nothing is missed.
    s.feed([0x00, 0x03, 0x01, 0x00, 0x05, 0x00, 0x04, 0x00, 0x00, 0x05, 0x07, 0x05, 0x85, 0x07, 0x41, 0x42, 0x43]);
    expect(done).toHaveBeenCalledWith(null, 5);
    expect(own.log).toEqual([
      ['connect', 7],
      ['data', 7, '41 42 43'],
    ]);
    // cmdNr 1 is free again.
    c.enter(id('x'), inListener(), vi.fn());
    await settle();
    expect(hexOf(s.take())).toBe('00 01 01 01 78');
  });

  it('maps error replies with the §3.1 table', async () => {
    const { c, s } = open();
    const results: unknown[] = [];
    for (let i = 0; i < 3; i++) c.create(id(`j${i}`), ownListener(), (r) => results.push(['create', r]));
    for (let i = 0; i < 6; i++) c.enter(id(`e${i}`), inListener(), (r) => results.push(['enter', r]));
    await settle();
    s.take();
    s.feed([0, 3, 1, 1, 2, 0, 3, 2, 1, 1, 0, 3, 3, 1, 9]);
    s.feed([0, 3, 4, 1, 1, 0, 3, 5, 1, 2, 0, 3, 6, 1, 3, 0, 3, 7, 1, 4, 0, 3, 8, 1, 5, 0, 3, 9, 1, 77]);
    expect(results).toEqual([
      ['create', 10],
      ['create', 12],
      ['create', 20],
      ['enter', 10],
      ['enter', 20],
      ['enter', 10],
      ['enter', 11],
      ['enter', 12],
      ['enter', 20],
    ]);
    expect([1, 2, 3, 99].map(createErrorReason)).toEqual([12, 10, 20, 20]);
    expect([1, 2, 3, 4, 5, 0].map(enterErrorReason)).toEqual([10, 20, 10, 11, 12, 20]);
  });

  it('fails the 256th pending request instead of dropping it (§3)', async () => {
    const { c } = open();
    const results: unknown[] = [];
    for (let i = 0; i < 256; i++) c.enter(id(`e${i}`), inListener(), (r) => results.push(r));
    await settle();
    expect(results).toEqual([12]);
  });

  it('routes data, events and drops unknown replies; ignores keepalive (§4.2)', async () => {
    const { c, s } = open();
    const own = ownListener();
    const user = inListener();
    c.create(id('o'), own, vi.fn());
    c.enter(id('i'), user, vi.fn());
    await settle();
    s.feed([0, 3, 1, 0, 0, 0, 3, 2, 0, 3]);
    s.feed([0, 3, 99, 0, 0]); // no pending request 99: dropped
    s.feed([0, 4, 0, 0xff, 0, 0]); // keepalive
    s.feed([0, 4, 0, 0, 0, 2]); // userConnect jOwn 0 user 2
    s.feed([0x04, 0x80, 0x02, 0x09, 0x08]); // from user 2
    s.feed([0x03, 0x03, 0x0a, 0x0b]); // to jIn 3
    s.feed([0x03, 0x01, 0x0a, 0x0b]); // unknown jIn: dropped, next unit parsed
    s.feed([0, 5, 0, 1, 0, 2, 1]); // userDisconnect reason 1
    s.feed([0, 4, 0, 2, 3, 0]); // inDisconnect jIn 3 reason 0
    expect(own.log).toEqual([
      ['connect', 2],
      ['data', 2, '09 08'],
      ['disconnect', 2, 1],
    ]);
    expect(user.log).toEqual([
      ['data', '0a 0b'],
      ['gone', 0],
    ]);
    expect(c.joints).toBe(1);
  });

  it('delivers a frame split across reads as pieces (§8)', async () => {
    const { c, s } = open();
    const user = inListener();
    c.enter(id('i'), user, vi.fn());
    await settle();
    s.feed([0, 3, 1, 0, 0, 0x06, 0x00]);
    s.feed([1, 2]);
    s.feed([3, 4, 5]);
    expect(user.log).toEqual([
      ['data', '01 02'],
      ['data', '03 04 05'],
    ]);
  });

  it('splits sends into frames of at most 32765 data bytes (§2.5) and repeats the broadcast prefix (§5)', async () => {
    const { c, s } = open();
    c.create(id('o'), ownListener(), vi.fn());
    c.enter(id('i'), inListener(), vi.fn());
    await settle();
    s.feed([0, 3, 1, 0, 0, 0, 3, 2, 0, 0]);
    s.take();
    const data = new Uint8Array(32765 + 10).map((_, i) => i & 0xff);
    c.sendToOwner(0, data);
    await settle();
    let out = s.take();
    expect(hexOf(out.subarray(0, 3))).toBe('ff fe 00'); // size 32766
    expect(hexOf(out.subarray(3 + 32765, 3 + 32765 + 2))).toBe('0b 00');
    expect(out.length).toBe(3 + 32765 + 2 + 10);
    c.sendToUser(0, 7, data);
    await settle();
    out = s.take();
    expect(hexOf(out.subarray(0, 4))).toBe('ff ff 80 07');
    expect(hexOf(out.subarray(4 + 32765, 4 + 32765 + 3))).toBe('0c 80 07');
    c.broadcast(0, data);
    await settle();
    out = s.take();
    expect(hexOf(out.subarray(0, 5))).toBe('01 01 ff fe 80');
    expect(hexOf(out.subarray(5 + 32765, 5 + 32765 + 4))).toBe('01 01 0b 80');
    c.broadcast(0, Uint8Array.of(0x41, 0x42, 0x43), 2);
    await settle();
    expect(hexOf(s.take())).toBe('01 00 05 80 02 41 42 43'); // J16
    c.leave(0);
    c.delete(0);
    await settle();
    expect(hexOf(s.take())).toBe('00 02 00 01 00 00 03 00 01 00');
    expect(s.ended).toBe(true); // last joint gone: connection closed
    expect(JointClientConnection.find('relay', 1)).toBeUndefined();
  });

  it('splits WebSocket writes at 64 KiB (§9)', async () => {
    fake.restore();
    fake = installFakeConnector({ kind: 'websocket' });
    const { c, s } = open();
    c.enter(id('i'), inListener(), vi.fn());
    await settle();
    s.feed([0, 3, 1, 0, 0]);
    s.take();
    c.sendToOwner(0, new Uint8Array(200_000));
    await settle();
    expect(s.writes.every((w) => w.length <= 65536)).toBe(true);
    expect(s.writes.reduce((n, w) => n + w.length, 0)).toBe(200_000 + 7 * 3);
  });

  it('tells every joint when the connection closes, and pending requests fail with CLOSE', async () => {
    const { c, s } = open();
    const own = ownListener();
    const user = inListener();
    const done = vi.fn();
    c.create(id('o'), own, vi.fn());
    c.enter(id('i'), user, vi.fn());
    await settle();
    s.feed([0, 3, 1, 0, 0, 0, 3, 2, 0, 0]);
    c.enter(id('late'), inListener(), done);
    s.close();
    expect(own.log).toEqual([['closed', 1]]);
    expect(user.log).toEqual([['closed', 1]]);
    expect(done).toHaveBeenCalledWith(1, -1, expect.objectContaining({ message: 'connection to relay:1 closed by the relay' }));
    expect(JointClientConnection.find('relay', 1)).toBeUndefined();
  });

  it('closes on a protocol error with MALICIOUS: unknown event, bad lead byte', async () => {
    for (const bad of [
      [0, 4, 0, 9, 0, 0],
      [0x01, 0x02],
    ]) {
      const { c, s } = open();
      const own = ownListener();
      c.create(id('o'), own, vi.fn());
      await settle();
      s.feed([0, 3, 1, 0, 0]);
      s.feed(bad);
      expect(own.log).toEqual([['closed', 20]]);
      expect(s.destroyed).toBe(true);
      expect(c.isOpen).toBe(false);
    }
  });

  it('reports DISCONNECT when the connection cannot be opened', async () => {
    fake.restore();
    fake = installFakeConnector({ fail: true });
    const c = JointClientConnection.get(fake.hooks, 'relay', 1);
    const done = vi.fn();
    c.create(id('o'), ownListener(), done);
    await settle();
    expect(done).toHaveBeenCalledWith(0, -1, expect.any(Error));
    expect((done.mock.calls[0]![2] as Error).message).toMatch(/^connect to relay:1 failed: /);
  });

  it('opens a further connection to enter a joint this one already is in (§1)', async () => {
    const a = JointClientConnection.forEnter(fake.hooks, 'relay', 1, id('j'));
    a.enter(id('j'), inListener(), vi.fn());
    const b = JointClientConnection.forEnter(fake.hooks, 'relay', 1, id('j'));
    expect(b).not.toBe(a);
    b.enter(id('j'), inListener(), vi.fn());
    expect(JointClientConnection.forEnter(fake.hooks, 'relay', 1, id('k'))).toBe(a);
    a.enter(id('k'), inListener(), vi.fn());
    await settle();
    expect(fake.streams.map((s) => s.host)).toEqual(['relay', 'relay']);
    expect(JointClientConnection.find('relay', 1, 1)).toBe(b);
    fake.streams[0]!.feed([0, 3, 1, 1, 1]); // refused: the id is free on `a` again
    expect(JointClientConnection.forEnter(fake.hooks, 'relay', 1, id('j'))).toBe(a);
  });

  it('refuses an id over 255 bytes', async () => {
    const { c } = open();
    c.enter(id('x'), inListener(), vi.fn());
    expect(() => c.create(new Uint8Array(256), ownListener(), vi.fn())).toThrow(RangeError);
  });
});
