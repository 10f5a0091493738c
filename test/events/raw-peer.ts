/**
 * A bare UDP socket on 127.0.0.1 for the events tests: send exact datagrams, await the ones
 * that come back. Stands in for an original Neteria peer at the byte level.
 */
import dgram from 'node:dgram';

export interface Received {
  text: string;
  from: { address: string; port: number };
}

export class RawPeer {
  private readonly queue: Received[] = [];
  private waiter: (() => void) | undefined;

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (m, r) => {
      this.queue.push({ text: m.toString('utf8'), from: { address: r.address, port: r.port } });
      this.waiter?.();
    });
  }

  static open(): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve(new RawPeer(s)));
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: string | Uint8Array, port: number, address = '127.0.0.1'): void {
    this.socket.send(data, port, address);
  }

  /** The next datagram, or undefined after `timeoutMs`. */
  async next(timeoutMs = 1000): Promise<Received | undefined> {
    if (this.queue.length === 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { this.waiter = undefined; resolve(); }, timeoutMs);
        this.waiter = () => { clearTimeout(t); this.waiter = undefined; resolve(); };
      });
    }
    return this.queue.shift();
  }

  /** The next datagram's text; fails the test when none comes. */
  async text(timeoutMs = 1000): Promise<string> {
    const r = await this.next(timeoutMs);
    if (!r) throw new Error(`no datagram within ${timeoutMs} ms`);
    return r.text;
  }

  /** Everything that arrives within `ms`. */
  async collect(ms: number): Promise<string[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.queue.splice(0).map((r) => r.text);
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}
