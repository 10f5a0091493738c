/**
 * What the server sends, and who pays for it (issue 14 item 4: never more out than in). Every
 * datagram but NOTIFY is an answer paid from the reply credit its destination earned by sending
 * to us, so a forged source address cannot make the server amplify traffic towards a victim.
 * A registration keeps the credit of its own address; other addresses share a bounded table.
 */
import type { PeerAddress } from './endpoint.js';
import { MAX_TRACKED_ADDRESSES_COUNT } from './limits.js';
import { addressKey } from './registry.js';
import type { Credit, Registration, ServerContext } from './server-types.js';

/** One per server: the reply credit table and the sending that charges it. */
export class ReplyCredit {
  /** Reply credit of addresses without a registration there, oldest first (bounded). */
  private readonly credits = new Map<string, Credit>();

  /**
   * @param ctx the server's shared state (stats, log, socket)
   * @param registration the registration of a cuuid (the registry's), whose address keeps its own credit
   */
  constructor(
    private readonly ctx: ServerContext,
    private readonly registration: (cuuid: string) => Registration | undefined,
  ) {}

  /**
   * Send an answer (anything but NOTIFY) paid from `credit`, the destination's reply credit.
   * @returns false when the credit could not pay it (withheld, counted)
   */
  reply(text: string, to: PeerAddress, credit: Credit): boolean {
    // Our datagrams are ASCII (pyString escapes the rest), so length is the byte count.
    if (credit.bytes < text.length) {
      this.ctx.stats.repliesWithheld++;
      this.ctx.log.line(() => `reply of ${text.length} bytes to ${to.address}:${to.port} withheld: it sent us fewer`);
      return false;
    }
    credit.bytes -= text.length;
    this.send(text, to);
    return true;
  }

  /** Send without a credit check: NOTIFY, which the application decides to send. */
  send(text: string, to: PeerAddress): void {
    const endpoint = this.ctx.endpoint;
    if (!endpoint) return;
    this.ctx.stats.bytesOut += text.length;
    endpoint.send(text, { address: to.address, port: to.port }, (err) => this.ctx.log.line(() => `send to ${to.address}:${to.port} failed: ${err.message}`));
  }

  /** The reply credit of `from`: its registration's when `cuuid` is registered there, else the table's. */
  creditFor(cuuid: string, from: PeerAddress): Credit {
    const rec = this.registration(cuuid);
    if (rec !== undefined && rec.port === from.port && rec.address === from.address) return rec.credit;
    const key = addressKey(from);
    let c = this.credits.get(key);
    if (c === undefined) {
      if (this.credits.size >= MAX_TRACKED_ADDRESSES_COUNT) {
        // Oldest first (Map order): forgetting credit only ever lets an address receive less.
        this.credits.delete(this.credits.keys().next().value!);
      }
      c = { bytes: 0 };
      this.credits.set(key, c);
    }
    return c;
  }

  /** Move the table's credit of `key` onto a registration made there. */
  takeCredit(key: string, credit: Credit): Credit {
    if (this.credits.get(key) === credit) this.credits.delete(key);
    return { bytes: credit.bytes };
  }

  /** Forget every address's credit (close()). */
  clear(): void {
    this.credits.clear();
  }
}
