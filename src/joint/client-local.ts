/**
 * Process-wide table for local routing (joint.md §13): every server of this process, offline or
 * online, is listed under `host:port:jointId`, so that a client of the same process entering that
 * key is connected in-process and nothing is sent to the relay. Local numbers come from their
 * own ranges: jointNr from 128, userNr from 256 (above anything a relay assigns).
 */
import { LowestFree } from './numbers.js';
import { LOCAL_JOINT_NR_BASE, MAX_LOCAL_JOINTS } from './client-limits.js';

/** The key of a joint in the local table: `host:port:jointId`. */
export function localJointKey(host: string, port: number, jointId: string): string {
  return `${host}:${port}:${jointId}`;
}

/**
 * A table of local joint owners keyed by `localJointKey`, with two number pools.
 * @typeParam T what the style registers as the owner of a key
 */
export class LocalJointTable<T> {
  private readonly owners = new Map<string, T>();
  private readonly serverNumbers = new LowestFree(MAX_LOCAL_JOINTS);
  private readonly clientNumbers = new LowestFree(MAX_LOCAL_JOINTS);

  /** The owner registered under `key`, if any. */
  get(key: string): T | undefined {
    return this.owners.get(key);
  }

  /** Register `owner` under `key`. @returns false when the key is taken (the caller reports ID). */
  add(key: string, owner: T): boolean {
    if (this.owners.has(key)) return false;
    this.owners.set(key, owner);
    return true;
  }

  /** Remove `key` if `owner` holds it. */
  remove(key: string, owner: T): void {
    if (this.owners.get(key) === owner) this.owners.delete(key);
  }

  /** Keys registered now. */
  get size(): number {
    return this.owners.size;
  }

  /** A jointNr for an offline server: the lowest free value >= 128. @returns -1 when none is left. */
  takeServerNr(): number {
    const n = this.serverNumbers.take();
    return n < 0 ? -1 : n + LOCAL_JOINT_NR_BASE;
  }

  /** Give back an offline server's jointNr. */
  freeServerNr(nr: number): void {
    this.serverNumbers.free(nr - LOCAL_JOINT_NR_BASE);
  }

  /** A jointNr for a local client: the lowest free value >= 128. @returns -1 when none is left. */
  takeClientNr(): number {
    const n = this.clientNumbers.take();
    return n < 0 ? -1 : n + LOCAL_JOINT_NR_BASE;
  }

  /** Give back a local client's jointNr. */
  freeClientNr(nr: number): void {
    this.clientNumbers.free(nr - LOCAL_JOINT_NR_BASE);
  }
}
