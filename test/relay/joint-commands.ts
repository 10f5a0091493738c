/**
 * Joint commands as a test client sends them (joint.md §3): create and enter with their replies
 * checked, for the single-relay and the cluster tests alike.
 */
import { expect } from 'vitest';
import { hexOf, type TestClient } from './raw-client.js';

/** One byte as hex. */
export const byte = (n: number): string => hexOf(Uint8Array.of(n));

/** An id as sent in a command: its length byte, then its bytes, in hex. */
export const idHex = (id: string): string => `${byte(Buffer.byteLength(id))} ${hexOf(Buffer.from(id))}`.trim();

/** Send a create (cmd 0) and return the reply `[status, value]`. */
export async function create(c: TestClient, id: string, cmdNr = 1): Promise<[number, number]> {
  c.send(`00 00 ${byte(cmdNr)} ${idHex(id)}`);
  const r = await c.read(5);
  expect(hexOf(r.subarray(0, 3))).toBe(`00 03 ${byte(cmdNr)}`);
  return [r[3]!, r[4]!];
}

/** Send an enter (cmd 1) and return the reply `[status, value]`. */
export async function enter(c: TestClient, id: string, cmdNr = 1): Promise<[number, number]> {
  c.send(`00 01 ${byte(cmdNr)} ${idHex(id)}`);
  const r = await c.read(5);
  expect(hexOf(r.subarray(0, 3))).toBe(`00 03 ${byte(cmdNr)}`);
  return [r[3]!, r[4]!];
}
