/**
 * One local connection between a server and a client of the same process (joint.md §13):
 * nothing goes to a relay; each direction is an EmulatedLink with the server's netLag and
 * netSpeed. The link scope is **per local user, per direction**: a user's sends queue behind
 * its own earlier sends only, and the server's sends to one user queue behind its earlier sends
 * to that same user.
 */
import { EmulatedLink, type EmulatedLinkOptions } from '../transport/offline.js';

/** The server end of local sessions (implemented by PeoteServer). */
export interface LocalOwnerEnd {
  /** The user's connect notice arrived. */
  localConnected(session: LocalSession): void;
  /** Data from the user arrived (owned copy). */
  localData(session: LocalSession, bytes: Uint8Array): void;
  /** The user's leave arrived. */
  localLeft(session: LocalSession, reason: number): void;
}

/** The client end of a local session (implemented by PeoteClient). */
export interface LocalUserEnd {
  /** The enter confirmation arrived. */
  localEntered(session: LocalSession): void;
  /** Data from the server arrived (owned copy). */
  localData(session: LocalSession, bytes: Uint8Array): void;
  /** The joint is gone (deleted, or the server's connection closed). */
  localGone(session: LocalSession, reason: number): void;
}

/** A local user in a local joint, with its two emulated links. */
export class LocalSession {
  /** The user's number at the server (>= 256). */
  userNr = -1;
  /** True once the server heard the connect notice. */
  connected = false;
  private ownerAttached = true;
  private userAttached = true;
  private readonly up: EmulatedLink;
  private readonly down: EmulatedLink;

  /**
   * @param emulateConnect true (offline servers): the connect notices travel the links and take
   *   netLag; false (online servers): they arrive at once (joint.md §13)
   */
  constructor(
    readonly owner: LocalOwnerEnd,
    readonly user: LocalUserEnd,
    link: EmulatedLinkOptions,
    private readonly emulateConnect: boolean,
  ) {
    this.up = new EmulatedLink(link);
    this.down = new EmulatedLink(link);
  }

  /** Send the connect notices: onEnter to the user, onUserConnect to the server. */
  start(): void {
    const toUser = () => {
      if (this.userAttached) this.user.localEntered(this);
    };
    const toOwner = () => {
      if (this.ownerAttached) this.owner.localConnected(this);
    };
    if (this.emulateConnect) {
      this.down.send(0, toUser);
      this.up.send(0, toOwner);
    } else {
      queueMicrotask(() => {
        toUser();
        toOwner();
      });
    }
  }

  /** User → server. @returns the emulated delay (ms), or -1 when the session is over. */
  toOwner(bytes: Uint8Array): number {
    if (!this.userAttached || !this.ownerAttached) return -1;
    const copy = bytes.slice();
    return this.up.send(copy.length, () => {
      if (this.ownerAttached) this.owner.localData(this, copy);
    });
  }

  /** Server → user. @returns the emulated delay (ms), or -1 when the session is over. */
  toUser(bytes: Uint8Array): number {
    if (!this.userAttached || !this.ownerAttached) return -1;
    const copy = bytes.slice();
    return this.down.send(copy.length, () => {
      if (this.userAttached) this.user.localData(this, copy);
    });
  }

  /** The user leaves: the server hears it after the lag, behind the user's earlier sends. */
  userLeave(reason: number): void {
    if (!this.userAttached) return;
    this.userAttached = false;
    this.down.close();
    if (!this.ownerAttached) {
      this.up.close();
      return;
    }
    this.up.send(0, () => {
      this.up.close();
      if (this.ownerAttached) this.owner.localLeft(this, reason);
    });
  }

  /** The joint is gone: the user hears it after the lag, behind the server's earlier sends. */
  ownerGone(reason: number): void {
    if (!this.ownerAttached) return;
    this.ownerAttached = false;
    this.up.close();
    if (!this.userAttached) {
      this.down.close();
      return;
    }
    this.down.send(0, () => {
      this.down.close();
      if (this.userAttached) this.user.localGone(this, reason);
    });
  }
}
