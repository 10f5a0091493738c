import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { listenStreams, connectTcp, connectWebSocket, type ByteStream, type StreamListener, type WebSocketLike } from '../../src/transport/index.js';

let listener: StreamListener | undefined;
const streams: ByteStream[] = [];

afterEach(async () => {
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
