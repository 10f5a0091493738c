/**
 * The relay's commands, error codes (joint.md §3.1), numbering (§1, §6), reasons (§4.3), limits
 * (§7), extensions (§17) and operations (rate limit, outbound cap, metrics, shutdown).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { get } from 'node:http';
import { connect } from 'node:net';
import { Relay, silentLogger, DisconnectReason, type RelayOptions } from '../../src/relay/index.js';
import { IpLimiter } from '../../src/relay/ip-limiter.js';
import { TcpClient, WsClient, closeAll, hexOf, type TestClient } from './raw-client.js';
import { byte, create, enter, idHex } from './joint-commands.js';

let relay: Relay | undefined;
afterEach(async () => {
  closeAll();
  await relay?.close();
  relay = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(options: RelayOptions = {}): Promise<Relay> {
  relay = await Relay.listen({ logger: silentLogger, ...options });
  return relay;
}

describe('create (joint.md §3.1)', () => {
  it('assigns the lowest free jOwn and reuses a deleted one', async () => {
    const r = await start();
    const c = await TcpClient.connect(r.port);
    expect(await create(c, 'a')).toEqual([0, 0]);
    expect(await create(c, 'b')).toEqual([0, 1]);
    expect(await create(c, 'c')).toEqual([0, 2]);
    c.send('00 03 00 01 01'); // delete jOwn 1
    expect(await create(c, 'd')).toEqual([0, 1]);
    expect(await create(c, 'b')).toEqual([0, 3]); // the id came free too
  });

  it('answers err 2 for an id taken anywhere on the relay, compared as raw bytes', async () => {
    const r = await start();
    const a = await TcpClient.connect(r.port);
    const b = await TcpClient.connect(r.port);
    expect(await create(a, 'room')).toEqual([0, 0]);
    expect(await create(a, 'room', 2)).toEqual([1, 2]);
    expect(await create(b, 'room')).toEqual([1, 2]);
    expect(await create(b, 'Room')).toEqual([0, 0]);
  });

  it('answers err 1 past 128 own joints, and checks the id first', async () => {
    const r = await start();
    const c = await TcpClient.connect(r.port);
    for (let i = 0; i < 128; i++) c.send(`00 00 01 ${idHex(`j${i}`)}`);
    const replies = await c.read(128 * 5);
    for (let i = 0; i < 128; i++) expect(hexOf(replies.subarray(i * 5, i * 5 + 5))).toBe(`00 03 01 00 ${byte(i)}`);
    expect(await create(c, 'one-more')).toEqual([1, 1]);
    expect(await create(c, 'j5')).toEqual([1, 2]);
  });

  it('accepts a 255-byte id and an empty id; refuses an id over maxIdBytes with err 3', async () => {
    const r = await start({ maxIdBytes: 8 });
    const c = await TcpClient.connect(r.port);
    expect(await create(c, '')).toEqual([0, 0]);
    expect(await create(c, '12345678')).toEqual([0, 1]);
    expect(await create(c, '123456789')).toEqual([1, 3]);
    const r2 = await Relay.listen({ logger: silentLogger });
    try {
      const d = await TcpClient.connect(r2.port);
      expect(await create(d, 'x'.repeat(255))).toEqual([0, 0]);
      const e = await TcpClient.connect(r2.port);
      expect(await enter(e, 'x'.repeat(255))).toEqual([0, 0]);
    } finally {
      closeAll();
      await r2.close();
    }
  });

  it('honours maxOwnJoints', async () => {
    const r = await start({ maxOwnJoints: 2 });
    const c = await TcpClient.connect(r.port);
    expect(await create(c, 'a')).toEqual([0, 0]);
    expect(await create(c, 'b')).toEqual([0, 1]);
    expect(await create(c, 'c')).toEqual([1, 1]);
  });

  it('sends no reply for cmdNr 0 (a reply numbered 0 would read as an event)', async () => {
    const r = await start();
    const c = await TcpClient.connect(r.port);
    c.send('00 00 00 01 61');
    expect((await c.silence(60)).length).toBe(0);
    expect(await create(c, 'a')).toEqual([1, 2]);
  });
});

describe('enter (joint.md §3.1)', () => {
  it('answers err 1 for no such joint, 2 for its own joint, 3 when already in', async () => {
    const r = await start();
    const owner = await TcpClient.connect(r.port);
    const user = await TcpClient.connect(r.port);
    expect(await enter(user, 'nope')).toEqual([1, 1]);
    expect(await create(owner, 'j')).toEqual([0, 0]);
    expect(await enter(owner, 'j')).toEqual([1, 2]);
    expect(await enter(user, 'j')).toEqual([0, 0]);
    expect(await enter(user, 'j')).toEqual([1, 3]);
  });

  it('answers err 4 when the joint is full (maxUsersPerJoint) and err 5 past 128 entered joints', async () => {
    const r = await start({ maxUsersPerJoint: 2, maxConnectionsPerIp: 0 });
    const owner = await TcpClient.connect(r.port);
    expect(await create(owner, 'j')).toEqual([0, 0]);
    const users = await Promise.all([0, 1, 2].map(() => TcpClient.connect(r.port)));
    expect(await enter(users[0]!, 'j')).toEqual([0, 0]);
    expect(await enter(users[1]!, 'j')).toEqual([0, 0]);
    expect(await enter(users[2]!, 'j')).toEqual([1, 4]);
    await owner.read(12);

    const many = await TcpClient.connect(r.port);
    for (let i = 0; i < 129; i++) many.send(`00 00 01 ${idHex(`m${i}`)}`);
    const created = await many.read(129 * 5);
    expect(hexOf(created.subarray(128 * 5))).toBe('00 03 01 01 01');
    const user = await TcpClient.connect(r.port);
    for (let i = 0; i < 128; i++) user.send(`00 01 01 ${idHex(`m${i}`)}`);
    const replies = await user.read(128 * 5);
    for (let i = 0; i < 128; i++) expect(hexOf(replies.subarray(i * 5, i * 5 + 5))).toBe(`00 03 01 00 ${byte(i)}`);
    expect(await enter(user, 'j')).toEqual([1, 4]); // full comes before max (§3.1 order)
    owner.send('00 03 00 01 00');
    await users[0]!.read(6);
    expect(await create(owner, 'k')).toEqual([0, 0]);
    expect(await enter(user, 'k')).toEqual([1, 5]);
  });

  it('assigns the lowest free userNr and jIn and reuses them after a leave', async () => {
    const r = await start();
    const owner = await TcpClient.connect(r.port);
    expect(await create(owner, 'j')).toEqual([0, 0]);
    expect(await create(owner, 'k')).toEqual([0, 1]);
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => TcpClient.connect(r.port)));
    expect(await enter(a!, 'j')).toEqual([0, 0]);
    expect(await enter(b!, 'j')).toEqual([0, 0]);
    expect(await enter(b!, 'k')).toEqual([0, 1]);
    expect(hexOf(await owner.read(18))).toBe('00 04 00 00 00 00 00 04 00 00 00 01 00 04 00 00 01 00');
    a!.send('00 02 00 01 00');
    expect(hexOf(await owner.read(7))).toBe('00 05 00 01 00 00 00');
    expect(await enter(c!, 'j')).toEqual([0, 0]);
    expect(hexOf(await owner.read(6))).toBe('00 04 00 00 00 00'); // userNr 0 again
    b!.send('00 02 00 01 00');
    expect(hexOf(await owner.read(7))).toBe('00 05 00 01 00 01 00');
    expect(await enter(b!, 'j')).toEqual([0, 0]); // jIn 0 again, userNr 1 again
    expect(hexOf(await owner.read(6))).toBe('00 04 00 00 00 01');
  });

  it('ignores a leave of an unknown jIn and a delete of a joint it does not own', async () => {
    const r = await start();
    const owner = await TcpClient.connect(r.port);
    const user = await TcpClient.connect(r.port);
    await create(owner, 'j');
    await enter(user, 'j');
    await owner.read(6);
    user.send('00 02 00 01 09');
    user.send('00 03 00 01 00');
    expect((await owner.silence(60)).length).toBe(0);
    user.send('03 00 41 42');
    expect(hexOf(await owner.read(5))).toBe('04 80 00 41 42');
  });
});

describe('data', () => {
  it('splits an owner broadcast of 32766 bytes into legal frames for each user', async () => {
    const r = await start();
    const owner = await TcpClient.connect(r.port);
    await create(owner, 'j');
    const users = await Promise.all([0, 1].map(() => TcpClient.connect(r.port)));
    for (const u of users) await enter(u, 'j');
    const data = Buffer.alloc(32765, 0x3c);
    owner.send(Buffer.concat([Buffer.from('0101fffe80', 'hex'), data]));
    for (const u of users) {
      const [got] = await u.takeUnits([{ kind: 'data', a: 0, b: -1, data }]);
      expect(got!.kind === 'data' && got!.data.equals(data)).toBe(true);
    }
  });

  it('never hands the tail of a frame to a user who entered after it began (userNr reuse)', async () => {
    const r = await start();
    const owner = await TcpClient.connect(r.port);
    await create(owner, 'j');
    const a = await TcpClient.connect(r.port);
    const b = await TcpClient.connect(r.port);
    await enter(a, 'j');
    await owner.read(6);
    owner.send('0B 80 00 01 02 03'); // first 4 of 9 data bytes to userNr 0
    await a.until(() => a.total >= 5 + 5);
    a.send('00 02 00 01 00');
    await owner.read(7);
    expect(await enter(b, 'j')).toEqual([0, 0]);
    owner.send('04 05 06 07 08 09 04 80 00 AA BB');
    expect(hexOf(await b.read(4))).toBe('03 00 aa bb');
  });
});

describe('reasons and the kick extension (joint.md §4.3, §17)', () => {
  it('kicks with cmd 4 when enabled: reply OK, user hears inDisconnect 2, owner userDisconnect 2', async () => {
    const r = await start({ kick: true });
    const owner = await TcpClient.connect(r.port);
    const user = await TcpClient.connect(r.port);
    await create(owner, 'j');
    await enter(user, 'j');
    await owner.read(6);
    owner.send('00 04 07 02 00 00');
    expect(hexOf(await owner.read(12))).toBe('00 03 07 00 00 00 05 00 01 00 00 02');
    expect(hexOf(await user.read(6))).toBe('00 04 00 02 00 02');
    owner.send('00 04 08 02 00 00');
    expect(hexOf(await owner.read(5))).toBe('00 03 08 01 01');
    expect(await enter(user, 'j')).toEqual([0, 0]);
  });
});

describe('limits and timers', () => {
  it('arms keepalive only after the first message', async () => {
    const r = await start({ keepaliveMs: 80 });
    const c = await TcpClient.connect(r.port);
    c.send('00 02 00 01 05'); // no reply
    expect((await c.silence(250)).length).toBe(0);
    await create(c, 'j');
    const started = Date.now();
    expect(hexOf(await c.read(6))).toBe('00 04 00 ff 00 00');
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
  });

  it('closes a WebSocket whose handshake does not complete within the login timeout', async () => {
    const r = await start({ loginTimeoutMs: 120 });
    const socket = connect(r.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    await new Promise((resolve) => socket.on('close', resolve));
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('counts the per-IP cap by address, and frees a slot on close', async () => {
    const r = await start({ maxConnectionsPerIp: 2 });
    const a = await TcpClient.connect(r.port);
    const b = await TcpClient.connect(r.port);
    a.send('00 02 00 01 00');
    b.send('00 02 00 01 00');
    await sleep(30);
    const c = await TcpClient.connect(r.port);
    expect(await c.waitClosed(1000)).toBe(true);
    expect(c.total).toBe(0);
    a.destroy();
    await sleep(50);
    const d = await TcpClient.connect(r.port);
    expect(await create(d, 'j')).toEqual([0, 0]);
    expect(r.stats().refusedPerIp).toBe(1);
    const limiter = new IpLimiter(1);
    const ip = limiter.admit('::ffff:10.0.0.1');
    expect(ip).toBe('10.0.0.1');
    expect(limiter.admit('10.0.0.1')).toBeNull();
    expect(limiter.admit('10.0.0.2')).not.toBeNull();
    limiter.release(ip!);
    expect(limiter.count('10.0.0.1')).toBe(0);
    expect(limiter.admit('10.0.0.1')).toBe('10.0.0.1');
  });

  it('caps connections in all (maxConnections), refusing with no bytes and freeing a slot on close', async () => {
    const r = await start({ maxConnections: 2, maxConnectionsPerIp: 0 });
    const a = await TcpClient.connect(r.port);
    const b = await TcpClient.connect(r.port);
    b.send('00 02 00 01 00');
    await sleep(30);
    const c = await TcpClient.connect(r.port);
    expect(await c.waitClosed(1000)).toBe(true);
    expect(c.total).toBe(0);
    expect(r.stats().refusedTotal).toBe(1);
    a.destroy();
    await sleep(50);
    const d = await TcpClient.connect(r.port);
    expect(await create(d, 'j')).toEqual([0, 0]);
  });

  it('drops a connection silent past idleTimeoutMs (half a unit included), keeps one that talks', async () => {
    const r = await start({ idleTimeoutMs: 200, keepaliveMs: 0 });
    const silent = await TcpClient.connect(r.port);
    silent.send('00 00'); // half a create command, then nothing
    const talker = await TcpClient.connect(r.port);
    expect(await create(talker, 'j')).toEqual([0, 0]);
    const chatter = setInterval(() => talker.send('00 02 00 01 00'), 50); // leave jIn 0, which it never entered: ignored, but it is traffic
    try {
      expect(await silent.waitClosed(2000)).toBe(true);
      expect(r.stats().disconnects[DisconnectReason.Idle]).toBe(1);
      await sleep(400);
      expect(r.stats().disconnects[DisconnectReason.Idle]).toBe(1);
    } finally {
      clearInterval(chatter);
    }
  });

  it('disconnects a sender past its inbound byte rate, with full cleanup', async () => {
    const r = await start({ inboundBytesPerSec: 2000, inboundBurstSeconds: 1, inboundPolicy: 'disconnect' });
    const owner = await TcpClient.connect(r.port);
    const user = await TcpClient.connect(r.port);
    await create(owner, 'j');
    await enter(user, 'j');
    await owner.read(6);
    user.send(Buffer.concat([Buffer.from('8bb900', 'hex'), Buffer.alloc(3000 - 1, 1)]));
    expect(await user.waitClosed(2000)).toBe(true);
    const tail = await owner.takeUnits([{ kind: 'control', hex: '00 05 00 01 00 00 01' }]);
    expect(tail.map((u) => (u.kind === 'control' ? u.hex : 'data'))).toContain('00 05 00 01 00 00 01');
    expect(r.stats().disconnects[DisconnectReason.RateLimit]).toBe(1);
  });

  it('disconnects a sender past its inbound unit rate', async () => {
    const r = await start({ inboundUnitsPerSec: 50, inboundBurstSeconds: 1, inboundPolicy: 'disconnect' });
    const c = await TcpClient.connect(r.port);
    c.send(Buffer.from('0002000105'.repeat(200), 'hex'));
    expect(await c.waitClosed(2000)).toBe(true);
    expect(r.stats().disconnects[DisconnectReason.RateLimit]).toBe(1);
  });

  it('throttles a sender past its inbound byte rate by default: slower, but every byte arrives', async () => {
    const r = await start({ inboundBytesPerSec: 20_000, inboundBurstSeconds: 0.1 });
    const owner = await TcpClient.connect(r.port);
    const user = await TcpClient.connect(r.port);
    await create(owner, 'j');
    await enter(user, 'j');
    await owner.read(6);
    // 8 KB against a 2 KB bucket at 20 KB/s: handled at once, then reading pauses ~300 ms.
    const data = Buffer.alloc(8000, 0x61);
    const started = Date.now();
    for (let at = 0; at < data.length; at += 1000) user.send(Buffer.concat([Buffer.from('83e900', 'hex'), data.subarray(at, at + 1000)]));
    const [got] = await owner.takeUnits([{ kind: 'data', a: 0x80, b: 0, data }], 5000);
    expect(got!.kind === 'data' && got!.data.equals(data)).toBe(true);
    user.send('04 00 41 42 43');
    const [late] = await owner.takeUnits([{ kind: 'data', a: 0x80, b: 0, data: Buffer.from('ABC') }], 5000);
    expect(late!.kind === 'data' && late!.data.toString()).toBe('ABC');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(r.stats().throttled).toBeGreaterThan(0);
    expect(user.closed).toBe(false);
  });

  it('disconnects a slow reader past maxOutboundBytes; the owner hears reason 1', async () => {
    const r = await start({ maxOutboundBytes: 256 * 1024 });
    const owner = await TcpClient.connect(r.port);
    const user = await TcpClient.connect(r.port);
    await create(owner, 'j');
    await enter(user, 'j');
    await owner.read(6);
    user.socket.pause();
    const frame = Buffer.concat([Buffer.from('ffff8000', 'hex'), Buffer.alloc(32765, 7)]);
    const burst = Buffer.concat(Array.from({ length: 64 }, () => frame)); // 2 MiB per write
    let dropped = false;
    for (let i = 0; i < 40 && !dropped; i++) {
      owner.send(burst);
      await sleep(20);
      dropped = r.stats().disconnects[DisconnectReason.SlowReader] > 0;
    }
    expect(dropped).toBe(true);
    const [gone] = await owner.takeUnits([{ kind: 'control', hex: '00 05 00 01 00 00 01' }]);
    expect(gone).toEqual({ kind: 'control', hex: '00 05 00 01 00 00 01' });
    expect(r.stats().users).toBe(0);
  });

  it('rejects when the port is taken', async () => {
    const r = await start();
    await expect(Relay.listen({ port: r.port, logger: silentLogger })).rejects.toThrow(`relay cannot listen on 127.0.0.1:${r.port}: address already in use (EADDRINUSE)`);
    await expect(Relay.listen({ port: r.port, logger: silentLogger })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('rejects out-of-range options', async () => {
    await expect(Relay.listen({ maxUsersPerJoint: 257 })).rejects.toThrow(RangeError);
    await expect(Relay.listen({ maxOwnJoints: 0 })).rejects.toThrow(/maxOwnJoints/);
    await expect(Relay.listen({ port: 70000 })).rejects.toThrow(RangeError);
    await expect(Relay.listen({ inboundPolicy: 'drop' as 'throttle' })).rejects.toThrow(/inboundPolicy/);
    await expect(Relay.listen({ batchDelayUs: 10_001 })).rejects.toThrow(/batchDelayUs/);
    await expect(Relay.listen({ batchDelayUs: 2.5 })).rejects.toThrow(RangeError);
  });

  it('takes batchDelayUs on both engines (500 µs by default; the Node engine does not wait)', async () => {
    const r = await start({ batchDelayUs: 0 });
    expect(r.options.batchDelayUs).toBe(0);
    const d = await start();
    expect(d.options.batchDelayUs).toBe(500);
  });

  it('counts sockets waiting for their first byte as pending (stats and metrics)', async () => {
    const r = await start();
    const c = await TcpClient.connect(r.port);
    await sleep(50);
    expect(r.stats()).toMatchObject({ pendingConnections: 1, pendingUpgrades: 0 });
    await create(c, 'room');
    expect(r.stats().pendingConnections).toBe(0);
  });

  it('prints one line for console.log, not its internals', async () => {
    const r = await start();
    const c = await TcpClient.connect(r.port);
    await create(c, 'room');
    const { inspect } = await import('node:util');
    expect(inspect(r)).toBe(`Relay { listening on 127.0.0.1:${r.port}, 1 connections, 1 joints, 0 users }`);
  });

  it('refuses an unknown option with a TypeError naming it', async () => {
    await expect(Relay.listen({ maxOutbondBytes: 1 } as never)).rejects.toThrow(TypeError);
    await expect(Relay.listen({ maxOutbondBytes: 1 } as never)).rejects.toThrow(/unknown option 'maxOutbondBytes'/);
  });
});

describe('WebSocket (joint.md §9)', () => {
  it('sends every unit as one binary message and accepts text messages', async () => {
    const r = await start();
    const owner = await WsClient.connect(r.port);
    const user = await WsClient.connect(r.port);
    owner.ws.send('\u0000\u0000\u0001\u0001j'); // create as a text message
    await owner.read(5);
    user.send('00 01 01 01 6A');
    await user.read(5);
    await owner.read(6);
    owner.send('01 01 03 80 41 42 01 01 03 80 43 44');
    await user.read(8);
    expect(user.messages.map(hexOf)).toEqual(['00 03 01 00 00', '03 00 41 42', '03 00 43 44']);
    expect(owner.messages.map(hexOf)).toEqual(['00 03 01 00 00', '00 04 00 00 00 00']);
  });

  it('keeps ping/pong payloads out of the joint stream (D6)', async () => {
    const r = await start();
    const c = await WsClient.connect(r.port);
    const pong = new Promise<Buffer>((resolve) => c.ws.once('pong', resolve));
    c.ws.ping(Buffer.from('0009', 'hex')); // would be an unknown command if it were data
    expect(hexOf(await pong)).toBe('00 09');
    expect(await create(c, 'j')).toEqual([0, 0]);
  });

  it('closes with 1009 on a message over maxWebSocketPayloadBytes (D8)', async () => {
    const r = await start({ maxWebSocketPayloadBytes: 1024 });
    const c = await WsClient.connect(r.port);
    const code = new Promise<number>((resolve) => c.ws.once('close', (n: number) => resolve(n)));
    c.send(Buffer.alloc(2000, 2));
    expect(await code).toBe(1009);
  });
});

describe('operations', () => {
  it('serves Prometheus metrics', async () => {
    const r = await start({ metricsPort: 0 });
    const c = await TcpClient.connect(r.port);
    await create(c, 'j');
    const text = await new Promise<string>((resolve, reject) => {
      get(`http://127.0.0.1:${r.metricsPort}/metrics`, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    expect(text).toMatch(/gamewire_relay_connections 1/);
    expect(text).toMatch(/gamewire_relay_joints 1/);
    expect(text).toMatch(/gamewire_relay_frames_in_total 1/);
    expect(text).toMatch(/gamewire_relay_disconnects_total\{reason="protocol_error"\} 0/);
  });

  it('close() ends every connection and is idempotent', async () => {
    const r = await start();
    const c = await TcpClient.connect(r.port);
    await create(c, 'j');
    await Promise.all([r.close(), r.close()]);
    expect(await c.waitClosed(1500)).toBe(true);
    expect(r.stats().disconnects[DisconnectReason.Shutdown]).toBe(1);
  });
});
