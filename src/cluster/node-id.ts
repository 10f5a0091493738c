/**
 * Node identity: a name (`--node-id` or generated) and an incarnation number (epoch), so a node
 * restarted under the same name is never taken for its previous life (docs/cluster.md §Membership).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { GamewireErrorCode } from '../core/error-codes.js';
import { GamewireRangeError, GamewireTypeError } from '../core/errors.js';
import { MAX_NODE_ID_BYTES } from './limits.js';

/** One life of one node: its name and its incarnation number. */
export interface NodeRef {
  readonly nodeId: string;
  /** Incarnation: larger for a later life of the same node id. */
  readonly epoch: number;
}

const NODE_ID = /^[A-Za-z0-9_-]+$/;

/**
 * Check a node id: 1..64 characters of `[A-Za-z0-9_-]` (it travels in NATS subjects).
 * @throws {TypeError} when it is not such a string.
 */
export function checkNodeId(nodeId: unknown, name = 'nodeId'): string {
  if (typeof nodeId !== 'string' || nodeId.length === 0 || nodeId.length > MAX_NODE_ID_BYTES || !NODE_ID.test(nodeId)) {
    throw new GamewireTypeError(GamewireErrorCode.BadOption, `${name} must be 1..${MAX_NODE_ID_BYTES} characters of [A-Za-z0-9_-], got ${JSON.stringify(nodeId)}`);
  }
  return nodeId;
}

/** A fresh node id: the host name (sanitised, shortened), the PID and 4 random bytes. */
export function generateNodeId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 32) || 'node';
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

let lastEpoch = 0;

/**
 * A new incarnation number: the wall clock in ms, strictly above any earlier one of this process.
 * A restarted process starts later than its predecessor's last heartbeat, so its epoch is larger
 * unless the clock went back by more than the restart took.
 */
export function nextEpoch(): number {
  const now = Date.now();
  lastEpoch = now > lastEpoch ? now : lastEpoch + 1;
  return lastEpoch;
}

/** Check an epoch: a positive safe integer. @throws {RangeError} otherwise. */
export function checkEpoch(epoch: unknown, name = 'epoch'): number {
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch <= 0) {
    throw new GamewireRangeError(GamewireErrorCode.BadOption, `${name} must be a positive safe integer, got ${String(epoch)}`);
  }
  return epoch;
}
