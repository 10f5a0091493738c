/**
 * The socket side of `relay --workers` handoffs (src/relay/worker-handoff.ts), in one process:
 * TcpStream.detach stops reading at once and lets go of the socket without closing it, and
 * adoptSocket takes it over as a fresh stream with the bytes already read first. This is also
 * what a refused handoff does (the handing worker takes its connection back): every byte the
 * client sends arrives once, in order, and the connection stays open both ways.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adoptSocket, listenStreams, type StreamListener } from '../../src/transport/stream-listener.js';
import { TcpStream } from '../../src/transport/tcp-stream.js';
import type { ByteStream } from '../../src/transport/types.js';
import { waitFor } from './harness.js';

describe('worker handoff: detach a TCP stream and adopt its socket', () => {
  const listeners: StreamListener[] = [];
  const clients: Socket[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  });

  it('loses, repeats and reorders nothing, and the adopted stream writes back', async () => {
    const streams: ByteStream[] = [];
    let released = 0;
    let closedClean: boolean | null = null;
    let socket: Socket | null = null;
    let kept: Buffer | null = null;
    const got: Buffer[] = [];
    const onStream = (s: ByteStream): void => {
      streams.push(s);
      if (streams.length === 1) {
        // The first read is handed over whole.
        s.onClose = (info) => (closedClean = info.clean);
        s.onData = (data) => {
          kept = Buffer.from(data);
          socket = (s as TcpStream).detach();
        };
      } else s.onData = (d) => got.push(Buffer.from(d));
    };
    const listener = await listenStreams({ port: 0, websocket: false, admit: () => 'ip', release: () => released++, onStream });
    listeners.push(listener);
    const client = connect({ port: listener.port, host: '127.0.0.1' });
    clients.push(client);
    const back: Buffer[] = [];
    client.on('data', (d: Buffer) => back.push(d));
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));

    // While the socket is let go, the client keeps writing.
    client.write(Buffer.from('first:'));
    await waitFor(() => streams.length === 1, 3000, 'the first stream');
    const first = streams[0]! as TcpStream;
    await waitFor(() => socket !== null, 3000, 'the first read and the detach');
    expect(closedClean).toBe(true);
    expect(first.open).toBe(false);
    const parts: string[] = [];
    for (let i = 0; i < 50; i++) parts.push(`${i},`);
    for (const p of parts) client.write(p);
    // Nothing is read meanwhile: the kernel keeps it for the adopter.
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(adoptSocket(socket!, kept!)).toBe(true);
    expect(streams.length).toBe(2);
    const second = streams[1]! as TcpStream;
    expect(second.adopted).toBe(true);
    const want = `first:${parts.join('')}`;
    await waitFor(() => Buffer.concat(got).length >= want.length, 3000, 'every byte at the adopted stream');
    expect(Buffer.concat(got).toString()).toBe(want);

    second.write(Buffer.from('back'));
    second.flush();
    await waitFor(() => Buffer.concat(back).toString() === 'back', 3000, 'the reply at the client');
    // Admitted once (by the listener that accepted it), released once when it finally closes.
    expect(released).toBe(0);
    second.destroy();
    await waitFor(() => released === 1, 3000, 'the admission released');
  });

  it('adopts only into exactly one listener of this process', async () => {
    const socket = connect({ port: 1, host: '127.0.0.1' });
    socket.on('error', () => {});
    clients.push(socket);
    expect(adoptSocket(socket, Buffer.alloc(0))).toBe(false);
    const onStream = (): void => {};
    listeners.push(await listenStreams({ port: 0, onStream }), await listenStreams({ port: 0, onStream }));
    expect(adoptSocket(socket, Buffer.alloc(0))).toBe(false);
  });
});
