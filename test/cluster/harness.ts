/**
 * Shared plumbing of the cluster suites: fast timings, a handler that records what arrives, a
 * bounded wait, and nodes that are always closed.
 */
import { Cluster, type ClusterOptions, type LinkHandler, type NodeRefLike } from '../../src/cluster/index.js';

/** Timings short enough for tests, in the same ratios as the defaults. */
export const FAST = {
  heartbeatMs: 100,
  peerTimeoutMs: 600,
  membershipCheckMs: 20,
  natsGraceMs: 300,
  reconnectWaitMs: 50,
  directoryTimeoutMs: 2000,
} satisfies Partial<ClusterOptions>;

/** Poll `check` every 10 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves with the arguments of the next `event` of `emitter`, or rejects after `timeoutMs`. */
export function nextEvent<T extends unknown[]>(emitter: { once(event: string, fn: (...args: T) => void): unknown; off(event: string, fn: (...args: T) => void): unknown }, event: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, fn);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const fn = (...args: T): void => {
      clearTimeout(timer);
      resolve(args);
    };
    emitter.once(event, fn);
  });
}

/** One received record, as the recording handler keeps it (data copied). */
export interface Received {
  type: string;
  from: string;
  fields: number[];
  data?: Buffer;
}

/** A LinkHandler that keeps every record (or only counts data, for volume tests). */
export class RecordingHandler implements LinkHandler {
  readonly records: Received[] = [];
  dataCount = 0;
  /** Called for every TO_OWNER record, before it is kept (volume tests check order here). */
  onData: ((from: string, jointRef: number, userNr: number, data: Uint8Array, offset: number, length: number) => void) | null = null;
  keepData = true;

  enter(from: NodeRefLike, reqId: number, userRef: number, flags: number, id: Uint8Array): void {
    this.records.push({ type: 'enter', from: from.nodeId, fields: [reqId, userRef, flags], data: Buffer.from(id) });
  }
  enterOk(from: NodeRefLike, reqId: number, jointRef: number, userNr: number): void {
    this.records.push({ type: 'enterOk', from: from.nodeId, fields: [reqId, jointRef, userNr] });
  }
  enterErr(from: NodeRefLike, reqId: number, err: number): void {
    this.records.push({ type: 'enterErr', from: from.nodeId, fields: [reqId, err] });
  }
  leave(from: NodeRefLike, jointRef: number, userNr: number): void {
    this.records.push({ type: 'leave', from: from.nodeId, fields: [jointRef, userNr] });
  }
  userGone(from: NodeRefLike, jointRef: number, userNr: number): void {
    this.records.push({ type: 'userGone', from: from.nodeId, fields: [jointRef, userNr] });
  }
  toOwner(from: NodeRefLike, jointRef: number, userNr: number, data: Uint8Array, offset: number, length: number): void {
    this.dataCount++;
    this.onData?.(from.nodeId, jointRef, userNr, data, offset, length);
    if (this.keepData) this.records.push({ type: 'toOwner', from: from.nodeId, fields: [jointRef, userNr], data: Buffer.from(data.subarray(offset, offset + length)) });
  }
  toUser(from: NodeRefLike, userRef: number, data: Uint8Array, offset: number, length: number): void {
    this.dataCount++;
    if (this.keepData) this.records.push({ type: 'toUser', from: from.nodeId, fields: [userRef], data: Buffer.from(data.subarray(offset, offset + length)) });
  }
  broadcast(from: NodeRefLike, jointRef: number, exclude: number, data: Uint8Array, offset: number, length: number): void {
    this.dataCount++;
    if (this.keepData) this.records.push({ type: 'broadcast', from: from.nodeId, fields: [jointRef, exclude], data: Buffer.from(data.subarray(offset, offset + length)) });
  }
  kick(from: NodeRefLike, userRef: number): void {
    this.records.push({ type: 'kick', from: from.nodeId, fields: [userRef] });
  }
  jointGone(from: NodeRefLike, jointRef: number, reason: number): void {
    this.records.push({ type: 'jointGone', from: from.nodeId, fields: [jointRef, reason] });
  }
  pauseJoint(from: NodeRefLike, jointRef: number): void {
    this.records.push({ type: 'pauseJoint', from: from.nodeId, fields: [jointRef] });
  }
  resumeJoint(from: NodeRefLike, jointRef: number): void {
    this.records.push({ type: 'resumeJoint', from: from.nodeId, fields: [jointRef] });
  }
}

/** Nodes joined by a test, closed by `closeAll` (abruptly: the NATS server may be gone already). */
export class Nodes {
  readonly list: Cluster[] = [];

  async join(url: string, nodeId: string, options: Partial<ClusterOptions> = {}, handler: LinkHandler = new RecordingHandler()): Promise<Cluster> {
    const node = await Cluster.join({ servers: url, nodeId, ...FAST, ...options }, handler);
    this.list.push(node);
    return node;
  }

  async closeAll(): Promise<void> {
    const nodes = this.list.splice(0);
    await Promise.all(nodes.map((node) => node.close(true)));
  }
}
