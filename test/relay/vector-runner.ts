/**
 * The step runner of the joint.md §15.1/§16 relay vectors (test/vectors/joint/relay.json), shared
 * by the single-relay run (relay-vectors.test.ts) and the three-node cluster run
 * (test/cluster/relay-vectors.test.ts): both must read the vectors the same way, so a step kind
 * added here is checked on one relay and across nodes alike.
 */
import { expect } from 'vitest';
import type { RelayOptions } from '../../src/relay/index.js';
import { loadVectors } from '../helpers/vectors.js';
import { TcpClient, WsClient, describeUnits, hexBytes, hexOf, unitsOf, type TestClient } from './raw-client.js';

export interface Step {
  send?: string;
  expect?: string;
  silent?: string;
  closed?: string;
  connect?: string;
  close?: string;
  wait?: number;
  alive?: boolean;
  afterClosing?: number;
  hex?: string;
  pieces?: number[];
  exact?: boolean;
  message?: boolean;
  ws?: boolean;
  ms?: number;
  minMs?: number;
}

/** How a vector is run (its `run` field; see `runDescription` in the file). */
export interface RelayRun {
  setup: 'pair' | 'pair3' | 'none' | 'full' | 'limit';
  relay?: RelayOptions;
  note?: string;
  steps: Step[];
}

export interface RelayVector {
  id: string;
  run: RelayRun;
}

/** A vector flattened for `it.each`: its id and its run. */
export type RunnableVector = { id: string } & RelayRun;

/** The vector file, defects included. */
export function loadRelayVectors(): ReturnType<typeof loadVectors<RelayVector>> & { defects: RelayVector[] } {
  return loadVectors<RelayVector>('joint', 'relay') as ReturnType<typeof loadVectors<RelayVector>> & { defects: RelayVector[] };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where the steps run: which port a named client connects to, and how "still serves" is shown. */
export interface VectorWorld {
  /** The relay port a client connected by a `connect` step uses. */
  portOf(clientName: string): number;
  /** An `alive` step: the relay (or cluster) still serves. */
  alive(step: Step): Promise<void>;
}

/** The client named `name` of `clients`; a vector naming an unknown one is a broken vector. */
export function clientOf(vector: { id: string }, clients: Map<string, TestClient>, name: string): TestClient {
  const c = clients.get(name);
  if (!c) throw new Error(`vector ${vector.id}: no client ${name}`);
  return c;
}

/** Run the steps of `vector` in order against `clients` (the setup's clients already in it). */
export async function runSteps(vector: RunnableVector, clients: Map<string, TestClient>, world: VectorWorld): Promise<void> {
  const client = (name: string) => clientOf(vector, clients, name);
  for (const step of vector.steps) {
    if (step.connect !== undefined) {
      const port = world.portOf(step.connect);
      clients.set(step.connect, step.ws ? await WsClient.connect(port) : await TcpClient.connect(port));
    } else if (step.send !== undefined) {
      const bytes = hexBytes(step.hex!);
      const c = client(step.send);
      if (step.pieces) {
        let at = 0;
        for (const n of step.pieces) {
          c.send(bytes.subarray(at, at + n));
          at += n;
          await sleep(50);
        }
        expect(at).toBe(bytes.length);
      } else c.send(bytes);
    } else if (step.expect !== undefined) {
      const c = client(step.expect);
      const want = unitsOf(step.hex!);
      if (step.exact) {
        const raw = await c.read(hexBytes(step.hex!).length);
        expect(hexOf(raw), `${vector.id}: exact bytes to ${step.expect}`).toBe(hexOf(hexBytes(step.hex!)));
        if (step.message) expect((c as WsClient).messages.map((m) => hexOf(m))).toContain(hexOf(hexBytes(step.hex!)));
      } else {
        const got = await c.takeUnits(want);
        expect(describeUnits(got), `${vector.id}: units to ${step.expect}`).toEqual(describeUnits(want));
        expect(Buffer.concat(got.map((u) => (u.kind === 'data' ? u.data : Buffer.alloc(0)))).equals(Buffer.concat(want.map((u) => (u.kind === 'data' ? u.data : Buffer.alloc(0)))))).toBe(true);
      }
    } else if (step.silent !== undefined) {
      const c = client(step.silent);
      const extra = await c.silence(step.ms ?? 50);
      expect(hexOf(extra), `${vector.id}: ${step.silent} must receive nothing`).toBe('');
    } else if (step.closed !== undefined) {
      const c = client(step.closed);
      const started = Date.now();
      expect(await c.waitClosed(step.ms ?? 2000), `${vector.id}: ${step.closed} closed by the relay`).toBe(true);
      if (step.minMs !== undefined) expect(Date.now() - started).toBeGreaterThanOrEqual(step.minMs);
      expect(c.available + c.decoder.units.length, `${vector.id}: no bytes before the close`).toBe(0);
    } else if (step.close !== undefined) {
      client(step.close).destroy();
    } else if (step.wait !== undefined) {
      await sleep(step.wait);
    } else if (step.alive) {
      await world.alive(step);
    }
  }
}
