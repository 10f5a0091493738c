/**
 * Errors the UDP session style hands to `onError`. Hostile or broken input never throws out of a
 * socket handler: it becomes one of these, and the datagram is dropped.
 */
import { GamewireError, type GamewireErrorCode } from '../core/errors.js';

/** Stable codes of UdpError (docs/errors.md). */
export type UdpErrorCode = (typeof GamewireErrorCode)['UdpOversize' | 'UdpMalformed' | 'UdpSocket' | 'UdpCallback' | 'UdpInternal'];

/** An outcome of the network delivered to `onError`; never thrown from a socket handler. */
export class UdpError extends GamewireError {
  declare readonly code: UdpErrorCode;

  constructor(code: UdpErrorCode, reason: string, options?: { cause?: unknown }) {
    super(code, reason, options);
    this.name = 'UdpError';
  }
}
