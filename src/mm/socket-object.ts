/**
 * What Server, Client and Connection share: the original's socket number and an address:port.
 */
import { newObjectId } from './events.js';

/** Base of the mm objects that stand for a socket. */
export abstract class SocketObject {
  /** Unique id, also `getSocket()`. */
  readonly id: number = newObjectId();
  /** Set once by the subclass constructor. */
  protected address = '';
  /** Set by the subclass constructor; a Server updates it to the bound port. */
  protected port = 0;

  /** Unique id of this object (the original's socket number). */
  getSocket(): number {
    return this.id;
  }

  /** The port: a Server's bound one (the requested one until `ready` resolves), a Client's server port, a Connection's client port. */
  getPort(): number {
    return this.port;
  }

  /** The address: a Server's bound one, a Client's server address, a Connection's client address. */
  getAddress(): string {
    return this.address;
  }
}
