/**
 * One client as the server sees it. The handle stays valid until its CLIENT_CLOSE event: it is
 * never closed because it was garbage collected (the original did; we do not).
 */
import type { Table } from '../codec/table.js';
import type { Session } from '../wire/session.js';
import { CloseCode } from '../wire/protocol.js';
import type { EventOwner } from './events.js';
import { SocketObject } from './socket-object.js';
import type { Server } from './server.js';

/** A server-side connection handle. */
export class Connection extends SocketObject implements EventOwner {
  /** The server that accepted it. */
  readonly server: Server;
  /** @internal the session; owned by the server */
  readonly session: Session;
  /** @internal true once CONNECT was queued */
  announced = false;

  /** @internal created by the Server */
  constructor(server: Server, session: Session) {
    super();
    this.server = server;
    this.session = session;
    this.address = session.stream.remoteAddress;
    this.port = session.stream.remotePort;
  }

  /** True from CONNECT until the connection closes. */
  isConnected(): boolean {
    return this.session.established;
  }

  /**
   * Send a table to this connection (same as `server.send(table, this)`).
   * @returns true when queued
   * @throws TypeError when the table holds something outside the subset
   */
  send(table: Table): boolean {
    return this.server.send(table, this) === 1;
  }

  /** Close this connection (same as `server.disconnect(this)`). @returns true if it was open */
  disconnect(): boolean {
    return this.server.disconnect(this) === 1;
  }

  /** A short description for logs and JSON (not the internals). */
  toJSON(): { kind: 'Connection'; socket: number; address: string; port: number } {
    return { kind: 'Connection', socket: this.id, address: this.address, port: this.port };
  }

  /** @internal a RECEIVE payload failed to decode at poll time */
  dropForBadTable(reason: string): void {
    this.session.close(CloseCode.ProtocolError, reason);
  }
}
