import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { LossyUdpProxy } from '../helpers/lossy-udp-proxy.js';
import { sleep, until } from './harness.js';

const open: Array<Socket | LossyUdpProxy> = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    if (o instanceof LossyUdpProxy) await o.close();
    else o.close();
  }
});

async function sock(onMessage: (m: Buffer, port: number, s: Socket) => void): Promise<Socket> {
  const s = createSocket('udp4');
  s.on('message', (m, r) => onMessage(m, r.port, s));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  open.push(s);
  return s;
}

/** Send 200 numbered datagrams through a proxy with `opts`, return what arrived in order. */
async function run(opts: Partial<Parameters<typeof LossyUdpProxy.start>[0]>): Promise<{ got: number[]; proxy: LossyUdpProxy }> {
  const got: number[] = [];
  const server = await sock((m) => got.push(m.readUInt32BE(0)));
  const proxy = await LossyUdpProxy.start({ target: { host: '127.0.0.1', port: server.address().port }, seed: 1, ...opts });
  open.push(proxy);
  const client = await sock(() => {});
  for (let i = 0; i < 200; i++) {
    const m = Buffer.alloc(4);
    m.writeUInt32BE(i);
    client.send(m, proxy.port, '127.0.0.1');
    if (i % 20 === 19) await sleep(2);
  }
  await sleep(150);
  return { got, proxy };
}

describe('LossyUdpProxy', () => {
  it('forwards everything unchanged and in order with no impairment', async () => {
    const { got } = await run({});
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('makes the same loss decisions for the same seed', async () => {
    const a = await run({ seed: 5, loss: 0.3 });
    const b = await run({ seed: 5, loss: 0.3 });
    const c = await run({ seed: 6, loss: 0.3 });
    expect(a.got).toEqual(b.got);
    expect(a.got).not.toEqual(c.got);
    expect(a.got.length).toBeGreaterThan(100);
    expect(a.got.length).toBeLessThan(180);
    expect(a.proxy.stats.dropped).toBe(200 - a.got.length);
  });

  it('duplicates and reorders', async () => {
    const dup = await run({ duplicate: 0.5 });
    expect(dup.got.length).toBe(200 + dup.proxy.stats.duplicated);
    const re = await run({ reorder: 0.3 });
    expect([...re.got].sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(re.got).not.toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('applies delay and answers back through the front port', async () => {
    const server = await sock((m, port, s) => s.send(m, port, '127.0.0.1')); // echo
    const proxy = await LossyUdpProxy.start({ target: { host: '127.0.0.1', port: server.address().port }, seed: 1, delayMs: 30 });
    open.push(proxy);
    const got: Array<[string, number]> = [];
    const client = await sock((m, port) => got.push([m.toString(), port]));
    const t = Date.now();
    client.send('echo me', proxy.port, '127.0.0.1');
    await until(() => got.length === 1, 2000);
    expect(Date.now() - t).toBeGreaterThanOrEqual(55);
    expect(got[0]).toEqual(['echo me', proxy.port]);
  });

  it('rewrites CONNECT <ip> <port> so the per-client socket is reached through the proxy', async () => {
    // a fake UDPIPE server: S answers with the address of a second socket, which echoes
    const seen: number[] = [];
    const sc = await sock((m, port, s) => {
      seen.push(port);
      s.send(m, port, '127.0.0.1');
    });
    const server = await sock((_m, port, s) => {
      seen.push(port);
      s.send(`CONNECT 127.0.0.1 ${sc.address().port}`, port, '127.0.0.1');
    });
    const proxy = await LossyUdpProxy.start({ target: { host: '127.0.0.1', port: server.address().port }, seed: 1 });
    open.push(proxy);
    const got: Array<[string, number]> = [];
    const client = await sock((m, port) => got.push([m.toString(), port]));
    client.send('HELLO x', proxy.port, '127.0.0.1');
    await until(() => got.length === 1);
    const [reply, from] = got[0]!;
    expect(from).toBe(proxy.port);
    const facePort = Number(reply.split(' ')[2]);
    expect(reply).toBe(`CONNECT 127.0.0.1 ${facePort}`);
    expect(facePort).not.toBe(sc.address().port);
    client.send('via face', facePort, '127.0.0.1');
    await until(() => got.length === 2);
    expect(got[1]).toEqual(['via face', facePort]);
    // S and SC saw the same client address: the proxy's upstream socket for this client
    expect(seen[0]).toBe(seen[1]);
    expect(proxy.stats.rewritten).toBe(1);
  });
});
