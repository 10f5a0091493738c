/** Shared helpers of the mm tests: event logs, raw sockets speaking the handshake by hand. */
import { connect, type Socket } from 'node:net';
import type { MmEvent } from '../../src/mm/index.js';

export const KEY = '0C03EA65238DD2C25EB87CE563868098';
export const KEY256 = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Accumulates polled events and waits for a condition on them. */
export class EventLog {
  readonly events: MmEvent[] = [];
  constructor(private readonly poll: () => MmEvent[]) {}

  take(): MmEvent[] {
    for (const e of this.poll()) this.events.push(e);
    return this.events;
  }

  async until(cond: (events: MmEvent[]) => boolean, ms = 4000): Promise<MmEvent[]> {
    const end = Date.now() + ms;
    while (!cond(this.take())) {
      if (Date.now() > end) throw new Error(`events not seen in time; got ${JSON.stringify(this.events.map(describe))}`);
      await sleep(5);
    }
    return this.events;
  }

  of(type: number): MmEvent[] {
    return this.take().filter((e) => e.type === type);
  }
}

export function describe(e: MmEvent): unknown {
  const { object, ...rest } = e as MmEvent & Record<string, unknown>;
  return { ...rest, object: (object as { constructor: { name: string } }).constructor.name };
}

/** u32 LE length + body. */
export function frame(...body: number[] | [Uint8Array]): Buffer {
  const b = body[0] instanceof Uint8Array ? Buffer.from(body[0]) : Buffer.from(body as number[]);
  const out = Buffer.alloc(4 + b.length);
  out.writeUInt32LE(b.length, 0);
  b.copy(out, 4);
  return out;
}

/** A plaintext HELLO (docs/protocol.md §4.1). */
export function hello(version = 1, flags = 0): Buffer {
  return frame(Buffer.concat([Buffer.from([1]), Buffer.from('GWMM'), Buffer.from([version, flags]), Buffer.alloc(32, 7)]));
}

/** A raw TCP socket; resolves once connected. */
export function rawSocket(port: number): Promise<Socket & { received: Buffer[]; gone: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }) as Socket & { received: Buffer[]; gone: boolean };
    s.received = [];
    s.gone = false;
    s.on('data', (d) => s.received.push(d));
    s.on('close', () => (s.gone = true));
    s.on('error', () => {});
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

export async function until(cond: () => boolean, ms = 4000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/**
 * A TCP proxy in front of `port`; `mutate` may rewrite each client → server read.
 * @returns the proxy's port and a close function
 */
export async function tcpProxy(port: number, mutate: (data: Buffer) => Buffer): Promise<{ port: number; close: () => Promise<void> }> {
  const { createServer } = await import('node:net');
  const open = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port });
    open.add(inbound);
    open.add(outbound);
    for (const s of [inbound, outbound]) s.on('error', () => {});
    inbound.on('data', (d) => outbound.write(mutate(d)));
    outbound.on('data', (d) => inbound.write(d));
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}
