/**
 * joint.md §15.1 and §16 as vectors (test/vectors/joint/relay.json), each run against a running
 * relay over loopback with raw TCP (and WebSocket where the vector says so).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Relay, silentLogger } from '../../src/relay/index.js';
import { TcpClient, closeAll, hexOf, type TestClient } from './raw-client.js';
import { clientOf, loadRelayVectors, runSteps, sleep } from './vector-runner.js';

const file = loadRelayVectors();
const runnable = [...file.vectors, ...file.defects].map((v) => ({ id: v.id, ...v.run }));
let relay: Relay | undefined;

afterEach(async () => {
  closeAll();
  await relay?.close();
  relay = undefined;
});

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
    await runSteps(vector, clients, {
      portOf: () => port,
      alive: async (step) => {
        for (let i = 0; i < (step.afterClosing ?? 0); i++) clientOf(vector, clients, `c${i}`).destroy();
        if (step.afterClosing) await sleep(50);
        await alive(port);
      },
    });
  });
});
