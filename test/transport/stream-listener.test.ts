import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { listenStreams, connectTcp, connectWebSocket, type ByteStream, type StreamListener, type WebSocketLike } from '../../src/transport/index.js';
import { WS_MAX_CONTROL_FRAMES_PER_SECOND } from '../../src/transport/limits.js';
import { OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, RawWebSocket, clientFrame } from './raw-websocket.js';

let listener: StreamListener | undefined;
const streams: ByteStream[] = [];

const raws: RawWebSocket[] = [];

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  for (const s of streams.splice(0)) s.destroy();
  await listener?.close();
  listener = undefined;
});

/** A listener whose streams echo every byte back. */
async function echoListener(extra: Partial<Parameters<typeof listenStreams>[0]> = {}): Promise<StreamListener> {
  listener = await listenStreams({
    onStream: (stream) => {
      streams.push(stream);
      stream.onData = (data) => {
        stream.write(data);
        stream.flush();
      };
    },
    ...extra,
  });
  return listener;
}

function collect(stream: ByteStream, bytes: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let have = 0;
    stream.onData = (d) => {
      parts.push(Buffer.from(d));
      have += d.length;
      if (have >= bytes) resolve(Buffer.concat(parts));
    };
  });
}

describe('listenStreams', () => {
  it('echoes raw TCP bytes, coalescing queued writes into one flush', async () => {
    const l = await echoListener();
    const client = await connectTcp('127.0.0.1', l.port);
    streams.push(client);
    const got = collect(client, 6);
    client.write(Uint8Array.of(0, 1, 2));
    client.write(Uint8Array.of(3, 4, 5));
    client.flush();
    expect([...(await got)]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(client.kind).toBe('tcp');
  });

  it('accepts a WebSocket on the same port and joins binary and text messages into one stream', async () => {
    const l = await echoListener();
    const client = await connectWebSocket(`ws://127.0.0.1:${l.port}/`, WebSocket as unknown as new (url: string) => WebSocketLike);
    streams.push(client);
    const got = collect(client, 4);
    for (const b of [0, 3, 1]) {
      client.write(Uint8Array.of(b));
      client.flush();
    }
    client.write(new TextEncoder().encode('A'));
    client.flush();
    expect([...(await got)]).toEqual([0, 3, 1, 0x41]);
    expect(streams[0]!.kind).toBe('websocket');
  });

  it('closes a connection that sends nothing within the handshake timeout', async () => {
    const l = await echoListener({ handshakeTimeoutMs: 100 });
    const socket = connect(l.port, '127.0.0.1');
    const started = Date.now();
    await new Promise((resolve) => socket.on('close', resolve));
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
  });

  it('closes at once, without bytes, a connection that admit refuses', async () => {
    let admitted = 0;
    const l = await echoListener({ admit: () => (admitted++ < 1 ? () => admitted-- : null) });
    const first = await connectTcp('127.0.0.1', l.port);
    streams.push(first);
    const second = connect(l.port, '127.0.0.1');
    const received: Buffer[] = [];
    second.on('data', (d) => received.push(d));
    await new Promise((resolve) => second.on('close', resolve));
    expect(received).toEqual([]);
  });

  it('reports onClose once when the peer ends the stream', async () => {
    const l = await echoListener();
    const client = await connectTcp('127.0.0.1', l.port);
    client.write(Uint8Array.of(9));
    client.flush();
    await new Promise((r) => setTimeout(r, 20));
    let closes = 0;
    const closed = new Promise<void>((resolve) => {
      streams[0]!.onClose = () => {
        closes++;
        resolve();
      };
    });
    client.end();
    await closed;
    expect(closes).toBe(1);
  });
});

describe('writeOwned', () => {
  it('sends handed-over buffers without a copy, coalesced at flush, in order with write()', async () => {
    const got: Buffer[] = [];
    listener = await listenStreams({
      onStream: (stream) => {
        streams.push(stream);
        stream.onData = (d) => got.push(Buffer.from(d));
      },
    });
    const client = await connectTcp('127.0.0.1', listener.port);
    streams.push(client);
    const owned = Buffer.from([1, 2]);
    client.writeOwned(owned);
    client.write(Uint8Array.of(3));
    client.writeOwned(Buffer.from([4]));
    expect(client.bufferedBytes).toBe(4);
    client.flush();
    for (let i = 0; i < 50 && Buffer.concat(got).length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    expect([...Buffer.concat(got)]).toEqual([1, 2, 3, 4]);
  });
});

const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** `n` pings of 125 bytes (the largest control payload), each tagged with its index, in one buffer. */
function pingBurst(n: number): Buffer {
  return Buffer.concat(Array.from({ length: n }, (_, i) => clientFrame(OP_PING, Buffer.alloc(125, i & 0xff))));
}

describe('WebSocket control frames (issue 14 item 6)', () => {
  it('answers 64 back-to-back 125-byte pings in one write with pongs, the last for the latest ping, and keeps the connection', async () => {
    const l = await echoListener();
    const raw = await RawWebSocket.open(l.port);
    raws.push(raw);
    raw.send(pingBurst(64));
    await until(() => raw.of(OP_PONG).some((f) => f.payload[0] === 63));
    const pongs = raw.of(OP_PONG);
    // RFC 6455 §5.5.3: an endpoint behind on its pongs may answer only the most recent ping.
    expect(pongs.length).toBeGreaterThanOrEqual(1);
    expect(pongs.length).toBeLessThanOrEqual(64);
    expect(pongs.every((p) => p.payload.length === 125)).toBe(true);
    expect(pongs.at(-1)!.payload[0]).toBe(63);
    // Still open: data after the burst is echoed, and no close frame came.
    raw.send(clientFrame(OP_BINARY, Buffer.from('after')));
    await until(() => raw.binary().toString() === 'after');
    expect(raw.of(OP_CLOSE)).toEqual([]);
    expect(raw.closed).toBe(false);
  });

  it('keeps at most two pongs queued however many pings arrive in one read', async () => {
    const l = await echoListener();
    const raw = await RawWebSocket.open(l.port);
    raws.push(raw);
    raw.send(pingBurst(WS_MAX_CONTROL_FRAMES_PER_SECOND));
    await until(() => raw.of(OP_PONG).some((f) => f.payload[0] === WS_MAX_CONTROL_FRAMES_PER_SECOND - 1));
    expect(raw.of(OP_PONG).length).toBeLessThanOrEqual(2);
    expect(raw.closed).toBe(false);
  });

  it('closes a peer over the control frame rate with 1008 and a reason', async () => {
    const l = await echoListener();
    const raw = await RawWebSocket.open(l.port);
    raws.push(raw);
    raw.send(pingBurst(WS_MAX_CONTROL_FRAMES_PER_SECOND + 1));
    await until(() => raw.of(OP_CLOSE).length === 1);
    const close = raw.of(OP_CLOSE)[0]!.payload;
    expect(close.readUInt16BE(0)).toBe(1008);
    expect(close.subarray(2).toString()).toBe('control frame flood');
    // Unsolicited pongs count too.
    const other = await RawWebSocket.open(l.port);
    raws.push(other);
    other.send(Buffer.concat(Array.from({ length: WS_MAX_CONTROL_FRAMES_PER_SECOND + 1 }, () => clientFrame(OP_PONG, Buffer.alloc(4)))));
    await until(() => other.of(OP_CLOSE).length === 1);
    expect(other.of(OP_CLOSE)[0]!.payload.readUInt16BE(0)).toBe(1008);
  });

  it('takes maxControlFramesPerSecond, 0 turning the cap off, and rejects a bad value', async () => {
    expect(() => listenStreams({ onStream: () => {}, maxControlFramesPerSecond: -1 })).toThrow(/maxControlFramesPerSecond/);
    const l = await echoListener({ maxControlFramesPerSecond: 0 });
    const raw = await RawWebSocket.open(l.port);
    raws.push(raw);
    raw.send(Buffer.concat([pingBurst(300), clientFrame(OP_BINARY, Buffer.from('x'))]));
    await until(() => raw.binary().toString() === 'x' && raw.of(OP_PONG).length > 0);
    expect(raw.of(OP_CLOSE)).toEqual([]);
  });
});

describe('pending counts and admission', () => {
  it('reports sockets waiting for their first byte and WebSocket upgrades in progress', async () => {
    const l = await echoListener();
    const silent = connect(l.port, '127.0.0.1');
    const upgrading = connect(l.port, '127.0.0.1');
    for (const s of [silent, upgrading]) s.on('error', () => {});
    upgrading.write('GET / HTTP/1.1\r\nHost: x\r\n');
    await until(() => l.pendingCount === 2 && l.pendingUpgrades === 1);
    upgrading.write('Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await until(() => l.pendingUpgrades === 0 && l.pendingCount === 1);
    silent.destroy();
    await until(() => l.pendingCount === 0);
    upgrading.destroy();
  });

  it('hands what admit returned to onStream and, once, to release when the socket closes', async () => {
    const released: string[] = [];
    const seen: string[] = [];
    listener = await listenStreams<{ tag: string }>({
      admit: (address) => ({ tag: `t-${address}` }),
      release: (a) => released.push(a.tag),
      onStream: (stream, a) => {
        streams.push(stream);
        seen.push(a!.tag);
      },
    });
    const client = await connectTcp('127.0.0.1', listener.port);
    client.write(Uint8Array.of(1));
    client.flush();
    await until(() => seen.length === 1);
    client.destroy();
    await until(() => released.length === 1);
    expect(seen).toEqual(['t-127.0.0.1']);
    expect(released).toEqual(['t-127.0.0.1']);
  });
});
