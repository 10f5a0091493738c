/**
 * joint.md §15.1 and §16 as vectors (test/vectors/joint/relay.json), each run against a running
 * relay over loopback with raw TCP (and WebSocket where the vector says so).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Relay, silentLogger, type RelayOptions } from '../../src/relay/index.js';
import { loadVectors } from '../helpers/vectors.js';
import { TcpClient, WsClient, closeAll, describeUnits, hexBytes, hexOf, unitsOf, type TestClient } from './raw-client.js';

interface Step {
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
interface RelayRun {
  setup: 'pair' | 'pair3' | 'none' | 'full' | 'limit';
  relay?: RelayOptions;
  note?: string;
  steps: Step[];
}

interface RelayVector {
  id: string;
  run: RelayRun;
}

const file = loadVectors<RelayVector>('joint', 'relay') as ReturnType<typeof loadVectors<RelayVector>> & { defects: RelayVector[] };
const runnable = [...file.vectors, ...file.defects].map((v) => ({ id: v.id, ...v.run }));
let relay: Relay | undefined;

afterEach(async () => {
  closeAll();
  await relay?.close();
  relay = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Owner creates 'j', each user enters; all the replies and userConnects consumed. */
async function pair(port: number, clients: Map<string, TestClient>, users: string[]): Promise<void> {
  const owner = await TcpClient.connect(port);
  clients.set('owner', owner);
  owner.send('00 00 01 01 6A');
  expect(await owner.readHex('00 03 01 00 00')).toBe('00 03 01 00 00');
  for (let i = 0; i < users.length; i++) {
    const user = await TcpClient.connect(port);
    clients.set(users[i]!, user);
    user.send('00 01 01 01 6A');
    expect(await user.readHex('00 03 01 00 00')).toBe('00 03 01 00 00');
    const uc = `00 04 00 00 00 ${hexOf(Uint8Array.of(i))}`;
    expect(await owner.readHex(uc)).toBe(uc);
  }
}

/** The relay still serves: a fresh owner/user pair exchanges a frame. */
async function alive(port: number): Promise<void> {
  const id = `alive${Math.random().toString(16).slice(2, 8)}`;
  const idHex = hexOf(Buffer.from(id));
  const owner = await TcpClient.connect(port);
  const user = await TcpClient.connect(port);
  owner.send(`00 00 01 ${hexOf(Uint8Array.of(id.length))} ${idHex}`);
  const created = await owner.read(5);
  expect(created[3]).toBe(0);
  user.send(`00 01 01 ${hexOf(Uint8Array.of(id.length))} ${idHex}`);
  const entered = await user.read(5);
  expect(entered[3]).toBe(0);
  await owner.read(6);
  user.send(`03 ${hexOf(Uint8Array.of(entered[4]!))} 77 88`);
  const got = await owner.read(5);
  expect(hexOf(got)).toBe(`04 ${hexOf(Uint8Array.of(0x80 + created[4]!))} 00 77 88`);
  owner.destroy();
  user.destroy();
}

describe('relay vectors (joint.md §15.1, §16)', () => {
  it('has a run for every §15.1 row, J1..J20', () => {
    expect(file.vectors.filter((v) => v.run !== undefined).map((v) => v.id)).toEqual(Array.from({ length: 20 }, (_, i) => `J${i + 1}`));
  });

  it.each(runnable.map((v) => [v.id, v] as const))('%s', async (_id, vector) => {
    relay = await Relay.listen({ logger: silentLogger, ...vector.relay });
    const port = relay.port;
    const clients = new Map<string, TestClient>();
    const client = (name: string) => {
      const c = clients.get(name);
      if (!c) throw new Error(`vector ${vector.id}: no client ${name}`);
      return c;
    };
    if (vector.setup === 'pair') await pair(port, clients, ['user']);
    else if (vector.setup === 'pair3') await pair(port, clients, ['user0', 'user1', 'user2']);
    else if (vector.setup === 'full') {
      const owner = await TcpClient.connect(port);
      clients.set('owner', owner);
      owner.send('00 00 01 01 6A');
      await owner.read(5);
      const users = await Promise.all(Array.from({ length: 256 }, () => TcpClient.connect(port)));
      for (const u of users) u.send('00 01 01 01 6A');
      const replies = await Promise.all(users.map((u) => u.read(5)));
      expect(replies.every((r) => r[3] === 0)).toBe(true);
      expect(new Set(replies.map((r) => r[4])).size).toBe(1);
      await owner.read(256 * 6);
      clients.set('late', await TcpClient.connect(port));
    } else if (vector.setup === 'limit') {
      for (let i = 0; i < 23; i++) {
        const c = await TcpClient.connect(port);
        c.send('00 00 00 00'); // any first byte: past the login phase
        clients.set(`c${i}`, c);
      }
      await sleep(50);
      clients.set('extra', await TcpClient.connect(port));
    }
    for (const step of vector.steps) {
      if (step.connect !== undefined) {
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
        for (let i = 0; i < (step.afterClosing ?? 0); i++) client(`c${i}`).destroy();
        if (step.afterClosing) await sleep(50);
        await alive(port);
      }
    }
  });
});
