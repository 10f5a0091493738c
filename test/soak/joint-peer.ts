/**
 * A minimal joint-protocol client (joint.md §2-4) for the soak, written from the spec rather
 * than with the project's client so it checks the relay independently: commands with replies,
 * control events, and data frames handed out whole (the relay may re-fragment; §8).
 */
import net from 'node:net';

/** A data frame as delivered: its body (routing header included), borrowed until the next read. */
export type FrameHandler = (body: Buffer) => void;
/** A control message payload (`00 len payload`): reply or event. */
export type ControlHandler = (payload: Buffer) => void;

/** Size bytes of a frame with `size` body bytes (joint.md §2.2). */
export function sizeHeader(size: number): Buffer {
  return size < 128 ? Buffer.of(size) : Buffer.of((size >> 8) + 0x80, size & 0xff);
}

/** A command unit `00 cmd nr len payload` (joint.md §3). */
export function command(cmd: number, nr: number, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(0, cmd, nr, payload.length), payload]);
}

/** Splits relay → client bytes into control messages and data frames (joint.md §2.4). */
export class RelayStreamReader {
  private buf: Buffer = Buffer.alloc(0);
  /** A unit the spec does not allow (a leading 01, a size below 2): the stream is desynced. */
  failed: string | null = null;

  constructor(
    private readonly onControl: ControlHandler,
    private readonly onFrame: FrameHandler,
  ) {}

  feed(chunk: Buffer): void {
    if (this.failed !== null) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let p = 0;
    const b = this.buf;
    for (;;) {
      if (p >= b.length) break;
      const b0 = b[p]!;
      if (b0 === 0) {
        if (p + 2 > b.length) break;
        const len = b[p + 1]!;
        if (p + 2 + len > b.length) break;
        this.onControl(b.subarray(p + 2, p + 2 + len));
        p += 2 + len;
      } else if (b0 === 1) {
        this.failed = 'relay sent a 01 unit';
        return;
      } else {
        let size: number;
        let head: number;
        if (b0 < 0x80) {
          size = b0;
          head = 1;
        } else {
          if (p + 2 > b.length) break;
          size = ((b0 - 0x80) << 8) | b[p + 1]!;
          head = 2;
          if (size < 2) {
            this.failed = `relay sent a frame of size ${size}`;
            return;
          }
        }
        if (p + head + size > b.length) break;
        this.onFrame(b.subarray(p + head, p + head + size));
        p += head + size;
      }
    }
    this.buf = p >= b.length ? Buffer.alloc(0) : Buffer.from(b.subarray(p));
  }
}

/** A good joint client on a raw TCP socket. */
export class JointPeer {
  readonly socket: net.Socket;
  private readonly reader: RelayStreamReader;
  private readonly replies = new Map<number, (status: number, value: number) => void>();
  /** Events (`00 event args…` payloads without the leading 0) as they come. */
  onEvent: (event: number, args: Buffer) => void = () => undefined;
  onFrame: FrameHandler = () => undefined;
  closed = false;
  closeError: string | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.reader = new RelayStreamReader(
      (payload) => {
        const nr = payload[0]!;
        if (nr > 0) {
          const done = this.replies.get(nr);
          this.replies.delete(nr);
          done?.(payload[1]!, payload[2]!);
        } else if (payload[1] !== 0xff) this.onEvent(payload[1]!, payload.subarray(2));
      },
      (body) => this.onFrame(body),
    );
    socket.on('data', (d: Buffer) => this.reader.feed(d));
    socket.on('error', (err) => (this.closeError = err.message));
    socket.on('close', () => (this.closed = true));
  }

  /** Reader desync reason, or null. */
  get failed(): string | null {
    return this.reader.failed;
  }

  /** @param from local (source) address (default: the OS's choice, 127.0.0.1) */
  static connect(port: number, from?: string): Promise<JointPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
      s.setNoDelay(true);
      s.once('connect', () => resolve(new JointPeer(s)));
      s.once('error', reject);
    });
  }

  /** Send a create (0) or enter (1) and wait for the reply: the number, or throws the error code. */
  request(cmd: 0 | 1, id: string, nr = 1, timeoutMs = 5000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to command ${cmd}`)), timeoutMs);
      this.replies.set(nr, (status, value) => {
        clearTimeout(timer);
        if (status === 0) resolve(value);
        else reject(new Error(`command ${cmd} failed with error ${value}`));
      });
      this.socket.write(command(cmd, nr, Buffer.from(id)));
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** An owner and a user of one joint, each a JointPeer, with the numbers the relay gave them. */
export interface JointPair {
  owner: JointPeer;
  user: JointPeer;
  jOwn: number;
  jIn: number;
  userNr: number;
}

/**
 * Create joint `id` with one peer and enter it with another; resolves once the owner has seen
 * the user's userConnect. @throws Error (`what`) when that does not come within `timeoutMs`.
 */
export async function connectPair(port: number, id: string, timeoutMs: number, what: string): Promise<JointPair> {
  const owner = await JointPeer.connect(port);
  const jOwn = await owner.request(0, id);
  let userNr = -1;
  owner.onEvent = (ev, args) => {
    if (ev === 0 && args[0] === jOwn && userNr < 0) userNr = args[1]!;
  };
  const user = await JointPeer.connect(port);
  const jIn = await user.request(1, id);
  for (const deadline = Date.now() + timeoutMs; userNr < 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  if (userNr < 0) throw new Error(what);
  return { owner, user, jOwn, jIn, userNr };
}
