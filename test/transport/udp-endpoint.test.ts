import { afterEach, describe, expect, it, vi } from 'vitest';
import { UdpEndpoint } from '../../src/transport/udp-endpoint.js';

const opened: UdpEndpoint[] = [];
afterEach(() => {
  for (const e of opened.splice(0)) e.close();
});

function endpoint(message = vi.fn(), error = vi.fn()): { ep: UdpEndpoint; message: typeof message; error: typeof error } {
  const ep = new UdpEndpoint('udp4', { message, error });
  opened.push(ep);
  return { ep, message, error };
}

function bound(ep: UdpEndpoint): Promise<number> {
  return new Promise((resolve) => ep.bind(0, '127.0.0.1', () => resolve(ep.address().port)));
}

describe('UdpEndpoint', () => {
  it('delivers a datagram with the sender address and port', async () => {
    const a = endpoint();
    const b = endpoint();
    const portA = await bound(a.ep);
    const portB = await bound(b.ep);
    expect(b.ep.send(Buffer.from('hi'), portA, '127.0.0.1')).toBeUndefined();
    await vi.waitFor(() => expect(a.message).toHaveBeenCalledTimes(1));
    const [msg, address, port] = a.message.mock.calls[0]!;
    expect((msg as Buffer).toString()).toBe('hi');
    expect(address).toBe('127.0.0.1');
    expect(port).toBe(portB);
  });

  it('hands a bind error to onBindError only, or to the error handler without one', async () => {
    const a = endpoint();
    const port = await bound(a.ep);
    const b = endpoint();
    const onBindError = vi.fn();
    const onBound = vi.fn();
    b.ep.bind(port, '127.0.0.1', onBound, { exclusive: true, onBindError });
    await vi.waitFor(() => expect(onBindError).toHaveBeenCalledWith(expect.objectContaining({ code: 'EADDRINUSE' })));
    expect(b.error).not.toHaveBeenCalled();
    const c = endpoint();
    c.ep.bind(port, '127.0.0.1', onBound, { exclusive: true });
    await vi.waitFor(() => expect(c.error).toHaveBeenCalledWith(expect.objectContaining({ code: 'EADDRINUSE' })));
    expect(onBound).not.toHaveBeenCalled();
  });

  it('returns the error of a send on a closed socket instead of throwing, and closes once', async () => {
    const { ep } = endpoint();
    await bound(ep);
    const onClosed = vi.fn();
    ep.close(onClosed);
    ep.close(onClosed);
    expect(ep.closed).toBe(true);
    expect(ep.send(Buffer.from('x'), 9, '127.0.0.1')).toBeInstanceOf(Error);
    await vi.waitFor(() => expect(onClosed).toHaveBeenCalledTimes(1));
  });
});
