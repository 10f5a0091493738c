/**
 * The joint directory: which node owns which joint id, cluster-wide, in a JetStream KV bucket
 * (docs/cluster.md §Directory). `claim` is the bucket's `create`, which the server accepts only
 * when the key holds no value: of two nodes creating the same id at once, exactly one wins.
 * Every write that removes a key is conditional on the revision it read, so a key is freed once
 * even when several survivors try, and never after someone re-claimed it.
 *
 * Key: `j` + hex of the id bytes (joint ids are 0..255 raw bytes, KV keys a subject-safe
 * alphabet). Value: ASCII `<nodeId> <epoch>`.
 */
import { EventEmitter } from 'node:events';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import { checkEpoch, type NodeRef } from './node-id.js';
import { BUCKET_OPEN_ATTEMPTS, BUCKET_RETRY_MS } from './limits.js';

/** Outcome of a claim: ours now, someone else's, or the bucket did not answer in time. */
export type ClaimResult = 'claimed' | 'taken' | 'unavailable';

export interface DirectoryOptions {
  /** KV bucket name (the cluster name). */
  cluster: string;
  /** Timeout of one operation (ms), `DIRECTORY_TIMEOUT_MS`. */
  timeoutMs: number;
  /**
   * How long a key whose owner is not alive is left before a sweep frees it (ms), the peer
   * timeout: it covers a new node whose first heartbeat is still on its way.
   */
  orphanAfterMs: number;
  /** Whether an owner incarnation is alive (the membership's view, this node included). */
  isAlive: (nodeId: string, epoch: number) => boolean;
}

export interface DirectoryStats {
  claims: number;
  claimsTaken: number;
  releases: number;
  lookups: number;
  /** Keys of dead or replaced owners freed by this node (each key is freed by one node only). */
  freed: number;
  /** Operations that failed with `unavailable` or an error. */
  failures: number;
}

export interface DirectoryEvents {
  /** A directory operation failed in the background (sweep, watch); the directory goes on. */
  warning: [error: Error];
  /**
   * An id this node holds was freed or taken by another node: the peers declared this node dead
   * while it still ran (a one-sided partition, a nats-server slow to shut down). The relay must
   * close that joint (its users get reason 1): the id may belong to someone else already.
   */
  lost: [id: Uint8Array];
}

interface MirrorEntry {
  owner: NodeRef;
  revision: number;
  /** When this node first saw the owner not alive (ms), 0 while it is alive. */
  orphanSinceMs: number;
}

/** The KV key of a joint id. */
export function directoryKey(id: Uint8Array): string {
  return `j${Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')}`;
}

/** The joint id of a KV key, or null when the key is not one of ours. */
export function jointIdOfKey(key: string): Uint8Array | null {
  if (key.length === 0 || key[0] !== 'j' || key.length % 2 !== 1 || !/^j[0-9a-f]*$/.test(key)) return null;
  return Buffer.from(key.slice(1), 'hex');
}

function encodeOwner(owner: NodeRef): string {
  return `${owner.nodeId} ${owner.epoch}`;
}

function decodeOwner(value: Uint8Array): NodeRef | null {
  const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
  const space = text.indexOf(' ');
  if (space <= 0) return null;
  const epoch = Number(text.slice(space + 1));
  if (!Number.isSafeInteger(epoch) || epoch <= 0) return null;
  return { nodeId: text.slice(0, space), epoch };
}

class TimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`directory operation timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** True for the KV's "the key changed meanwhile" refusal (wrong last sequence, API code 10071). */
function isConflict(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return e?.code === 10071 || (typeof e?.message === 'string' && e.message.includes('wrong last sequence'));
}

/**
 * The cluster-wide directory of joint ids. Open it with `JointDirectory.open`; it watches the
 * bucket to keep a local mirror (owner per key), used for `cached` and to find the keys of dead
 * nodes without a scan.
 */
export class JointDirectory extends EventEmitter<DirectoryEvents> {
  /** Keys this node claimed, with the revision of its claim. */
  private readonly owned = new Map<string, number>();
  private readonly mirror = new Map<string, MirrorEntry>();
  private watcher: QueuedIterator<KvWatchEntry> | null = null;
  private lastRevision = 0;
  private closed = false;
  /** True while `reassert` runs: it reports its own losses, and the watch sees its intermediate steps. */
  private reasserting = false;
  readonly stats: DirectoryStats = { claims: 0, claimsTaken: 0, releases: 0, lookups: 0, freed: 0, failures: 0 };

  private constructor(
    private readonly nc: NatsConnection,
    private kv: KV,
    private selfRef: NodeRef,
    private readonly options: Readonly<DirectoryOptions>,
  ) {
    super();
  }

  /**
   * Open (creating it when needed) the bucket `options.cluster` and start the mirror. The
   * server needs JetStream (`nats-server -js`).
   * @throws when the bucket cannot be opened within `options.timeoutMs`.
   */
  static async open(nc: NatsConnection, self: NodeRef, options: Readonly<DirectoryOptions>): Promise<JointDirectory> {
    checkEpoch(self.epoch, 'self.epoch');
    const kv = await withTimeout(openBucket(nc, options.cluster), options.timeoutMs);
    const directory = new JointDirectory(nc, kv, self, options);
    await directory.startWatch();
    return directory;
  }

  /** This node's incarnation as written in its claims. */
  get self(): NodeRef {
    return this.selfRef;
  }

  /** Number of ids this node holds. */
  get ownedCount(): number {
    return this.owned.size;
  }

  /**
   * Claim `id` for this node: atomic cluster-wide, exactly one of concurrent claimers gets
   * `claimed`. A second claim of an id this node already holds is `taken` (the relay checks its
   * own table first). An id still held by an earlier incarnation of this node is freed and
   * claimed again (`retry`, once).
   */
  async claim(id: Uint8Array, retry = true): Promise<ClaimResult> {
    const key = directoryKey(id);
    this.stats.claims++;
    if (this.owned.has(key)) {
      this.stats.claimsTaken++;
      return 'taken';
    }
    try {
      const revision = await withTimeout(this.kv.create(key, encodeOwner(this.selfRef)), this.options.timeoutMs);
      this.owned.set(key, revision);
      return 'claimed';
    } catch (error) {
      if (isConflict(error)) {
        // The holder may be a dead node not swept yet: free it now if so, and try once more.
        if (retry && (await this.freeIfOrphan(key))) return this.claim(id, false);
        this.stats.claimsTaken++;
        return 'taken';
      }
      this.stats.failures++;
      return 'unavailable';
    }
  }

  /**
   * Give `id` up (the joint was deleted or its owner left). Only this node's own claim is
   * removed: a conditional delete on the revision of the claim.
   * @returns false when this node did not hold it, or the bucket did not answer (the sweep of
   *   this node's old incarnation frees it later).
   */
  async release(id: Uint8Array): Promise<boolean> {
    const key = directoryKey(id);
    const revision = this.owned.get(key);
    if (revision === undefined) return false;
    this.owned.delete(key);
    this.stats.releases++;
    try {
      await withTimeout(this.kv.delete(key, { previousSeq: revision }), this.options.timeoutMs);
      return true;
    } catch (error) {
      if (!isConflict(error)) this.stats.failures++;
      return false;
    }
  }

  /** The owner of `id`, read from the bucket (authoritative), or null when free. */
  async lookup(id: Uint8Array): Promise<NodeRef | null> {
    this.stats.lookups++;
    const entry = await withTimeout(this.kv.get(directoryKey(id)), this.options.timeoutMs);
    if (entry === null || entry.operation !== 'PUT') return null;
    return decodeOwner(entry.value);
  }

  /** The owner of `id` in the local mirror (no round trip; may lag the bucket by a hop). */
  cached(id: Uint8Array): NodeRef | null {
    return this.mirror.get(directoryKey(id))?.owner ?? null;
  }

  /** True when this node holds `id`. */
  holds(id: Uint8Array): boolean {
    return this.owned.has(directoryKey(id));
  }

  /**
   * Free every key held by the given incarnation (a dead peer). Each delete is conditional on the
   * revision, so when several survivors do this only one delete per key succeeds.
   * @returns how many keys this call freed.
   */
  async freeNode(owner: NodeRef): Promise<number> {
    const keys: [string, number][] = [];
    for (const [key, entry] of this.mirror) {
      if (entry.owner.nodeId === owner.nodeId && entry.owner.epoch === owner.epoch) keys.push([key, entry.revision]);
    }
    return this.deleteAll(keys);
  }

  /**
   * Free the keys whose owner has not been alive for `orphanAfterMs`: dead nodes nobody freed
   * (all survivors restarted, a node died during a NATS outage), old incarnations.
   * @returns how many keys this call freed.
   */
  async sweep(nowMs = Date.now()): Promise<number> {
    const keys: [string, number][] = [];
    for (const [key, entry] of this.mirror) {
      if (this.options.isAlive(entry.owner.nodeId, entry.owner.epoch)) {
        entry.orphanSinceMs = 0;
        continue;
      }
      if (entry.orphanSinceMs === 0) entry.orphanSinceMs = nowMs;
      else if (nowMs - entry.orphanSinceMs >= this.options.orphanAfterMs) keys.push([key, entry.revision]);
    }
    return this.deleteAll(keys);
  }

  /**
   * After an isolation this node comes back as `self` (a new epoch) and takes its joints' ids
   * again: a claim still in the bucket under its old revision is rewritten (conditionally), a
   * freed one created again. Ids someone else took meanwhile are lost: the relay must close those
   * joints (their users get reason 1).
   * @returns the ids lost (empty when all came back).
   */
  async reassert(self: NodeRef): Promise<Uint8Array[]> {
    checkEpoch(self.epoch, 'self.epoch');
    this.selfRef = self;
    const lost: Uint8Array[] = [];
    const value = encodeOwner(self);
    this.reasserting = true;
    try {
      await this.reassertAll(value, lost);
    } finally {
      this.reasserting = false;
    }
    return lost;
  }

  private async reassertAll(value: string, lost: Uint8Array[]): Promise<void> {
    for (const [key, revision] of [...this.owned]) {
      try {
        let next: number;
        try {
          next = await withTimeout(this.kv.update(key, value, revision), this.options.timeoutMs);
        } catch (error) {
          if (!isConflict(error)) throw error;
          next = await withTimeout(this.kv.create(key, value), this.options.timeoutMs);
        }
        this.owned.set(key, next);
      } catch (error) {
        this.owned.delete(key);
        if (!isConflict(error)) this.stats.failures++;
        lost.push(jointIdOfKey(key)!);
      }
    }
  }

  /** Forget when owners were first seen dead (after an outage, when this node saw no heartbeats). */
  resetOrphans(): void {
    for (const entry of this.mirror.values()) entry.orphanSinceMs = 0;
  }

  /** Stop the mirror. Claims stay in the bucket (the node's peers free them when it is gone). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.stop();
    this.watcher = null;
  }

  private async deleteAll(keys: [string, number][]): Promise<number> {
    let freed = 0;
    for (const [key, revision] of keys) {
      try {
        await withTimeout(this.kv.delete(key, { previousSeq: revision }), this.options.timeoutMs);
        freed++;
        this.stats.freed++;
        // The mirror learns it from the watch too; dropping it now keeps a second sweep from retrying.
        const entry = this.mirror.get(key);
        if (entry !== undefined && entry.revision === revision) this.mirror.delete(key);
      } catch (error) {
        if (!isConflict(error)) {
          this.stats.failures++;
          this.emit('warning', error as Error);
        }
      }
    }
    return freed;
  }

  private async freeIfOrphan(key: string): Promise<boolean> {
    let entry;
    try {
      entry = await withTimeout(this.kv.get(key), this.options.timeoutMs);
    } catch {
      return false;
    }
    if (entry === null || entry.operation !== 'PUT') return true;
    const owner = decodeOwner(entry.value);
    // Only an owner declared dead here is freed on the spot; an unknown one may be a node whose
    // first heartbeat has not arrived, which the sweep gives `orphanAfterMs`.
    if (owner === null || owner.nodeId !== this.selfRef.nodeId || owner.epoch >= this.selfRef.epoch) return false;
    try {
      await withTimeout(this.kv.delete(key, { previousSeq: entry.revision }), this.options.timeoutMs);
      this.stats.freed++;
      return true;
    } catch {
      return false;
    }
  }

  private async startWatch(): Promise<void> {
    const watcher = await withTimeout(
      this.kv.watch(this.lastRevision > 0 ? { resumeFromRevision: this.lastRevision + 1 } : {}),
      this.options.timeoutMs,
    );
    this.watcher = watcher;
    void (async () => {
      try {
        for await (const entry of watcher) this.apply(entry);
      } catch (error) {
        if (!this.closed) this.emit('warning', error as Error);
      }
      if (!this.closed && !this.nc.isClosed()) {
        // The ordered consumer gave up (bucket re-created after a NATS restart without its store):
        // watch again from the last revision seen.
        setTimeout(() => void this.startWatch().catch((error: Error) => this.emit('warning', error)), this.options.timeoutMs).unref();
      }
    })();
  }

  private apply(entry: KvWatchEntry): void {
    if (entry.revision > this.lastRevision) this.lastRevision = entry.revision;
    const owner = entry.operation === 'PUT' ? decodeOwner(entry.value) : null;
    this.checkOwned(entry.key, entry.revision, owner);
    if (owner === null) this.mirror.delete(entry.key);
    else this.mirror.set(entry.key, { owner, revision: entry.revision, orphanSinceMs: 0 });
  }

  /**
   * Self-fencing: a change to a key this node holds, newer than its claim and not its own, means
   * the key is no longer this node's (freed by a survivor that believed it dead, or taken since).
   */
  private checkOwned(key: string, revision: number, owner: NodeRef | null): void {
    const mine = this.owned.get(key);
    if (mine === undefined || revision <= mine || this.reasserting) return;
    if (owner !== null && owner.nodeId === this.selfRef.nodeId && owner.epoch === this.selfRef.epoch) {
      this.owned.set(key, revision);
      return;
    }
    this.owned.delete(key);
    this.emit('lost', jointIdOfKey(key)!);
  }
}

async function openBucket(nc: NatsConnection, name: string): Promise<KV> {
  // history 1: only the current owner matters; a small value cap keeps a forged write cheap.
  return retryConcurrentCreate(() => new Kvm(nc).create(name, { history: 1, maxValueSize: 128 }));
}

/**
 * Whether JetStream refused a stream create because another create of the same stream was being
 * applied: 10065 subjects overlap, 10058 name in use (the KV client creates its stream when it
 * finds none, so nodes starting together race).
 */
export function isConcurrentCreate(error: unknown): boolean {
  // JetStreamApiError's `code` is the API's err_code.
  const e = error as { code?: unknown; message?: unknown };
  if (e?.code === 10065 || e?.code === 10058) return true;
  return typeof e?.message === 'string' && (e.message.includes('subjects overlap') || e.message.includes('already in use'));
}

/** `attempt()`, again after a short wait when it lost a race to create the same stream. */
export async function retryConcurrentCreate<T>(attempt: () => Promise<T>, attempts = BUCKET_OPEN_ATTEMPTS, retryMs = BUCKET_RETRY_MS): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (n >= attempts || !isConcurrentCreate(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, retryMs * n));
    }
  }
}
