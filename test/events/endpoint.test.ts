import { afterEach, describe, expect, it, vi } from 'vitest';
import { Endpoint } from '../../src/events/endpoint.js';
import { RawPeer } from './raw-peer.js';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

describe('Endpoint', () => {
  it('sends a datagram of exactly 10240 bytes and refuses one byte more (neteria.md §1)', async () => {
    const peer = await RawPeer.open();
    opened.push(peer);
    const ep = await Endpoint.bind(0, '127.0.0.1', { message: () => undefined, error: () => undefined });
    opened.push(ep);
    const onError = vi.fn();
    ep.send('a'.repeat(10240), { address: '127.0.0.1', port: peer.port }, onError);
    expect((await peer.text()).length).toBe(10240);
    ep.send('a'.repeat(10241), { address: '127.0.0.1', port: peer.port }, onError);
    ep.send('\u00e9'.repeat(5121), { address: '127.0.0.1', port: peer.port }, onError); // 10242 bytes
    expect(await peer.next(100)).toBeUndefined();
    expect(onError).toHaveBeenCalledTimes(2);
    expect(onError.mock.calls[0]![0]).toBeInstanceOf(RangeError);
  });

  it('reports a handler that throws instead of letting it escape the socket', async () => {
    const error = vi.fn();
    const ep = await Endpoint.bind(0, '127.0.0.1', { message: () => { throw new Error('handler bug'); }, error });
    opened.push(ep);
    const peer = await RawPeer.open();
    opened.push(peer);
    peer.send('x', ep.address().port);
    await vi.waitFor(() => expect(error).toHaveBeenCalledWith(expect.objectContaining({ message: 'handler bug' })));
  });

  it('rejects a bind to a port in use, and close is idempotent', async () => {
    const ep = await Endpoint.bind(0, '127.0.0.1', { message: () => undefined, error: () => undefined });
    opened.push(ep);
    await expect(Endpoint.bind(ep.address().port, '127.0.0.1', { message: () => undefined, error: () => undefined })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await ep.close();
    await ep.close();
  });
});
