/**
 * joint.md §15.1 and §16 as vectors (test/vectors/joint/relay.json), run against a cluster of
 * three relays on one nats-server with the owner on A and the users on B, C and A (issue 18
 * phase 2: "behave exactly as on a single relay"). J18 (the per-IP cap of one relay) is left out:
 * it is about one node's sockets, not the cluster.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Relay, silentLogger } from '../../src/relay/index.js';
import { HAS_NATS, NATS_SKIP_REASON, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { TcpClient, closeAll, hexOf, type TestClient } from '../relay/raw-client.js';
import { loadRelayVectors, runSteps } from '../relay/vector-runner.js';
import { FAST, waitFor } from './harness.js';

const file = loadRelayVectors();
const runnable = [...file.vectors, ...file.defects].filter((v) => v.run !== undefined && v.run.setup !== 'limit').map((v) => ({ id: v.id, ...v.run }));

describe.skipIf(!HAS_NATS)(`relay vectors across a cluster: owner on A, users on B, C, A${NATS_SKIP_REASON}`, () => {
  let nats: NatsServer;
  const relays: Relay[] = [];
  let n = 0;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(async () => {
    closeAll();
    await Promise.all(relays.splice(0).map((r) => r.close()));
  });
  afterAll(() => nats?.dispose());

  it.each(runnable.map((v) => [v.id, v] as const))('%s', async (_id, vector) => {
    const name = `vec${process.pid}x${n++}`;
    const start = (nodeId: string) => Relay.listen({ logger: silentLogger, maxConnectionsPerIp: 0, ...vector.relay, cluster: { servers: nats.url, nodeId, name, ...FAST } });
    const [a, b, c] = await Promise.all([start('a'), start('b'), start('c')]);
    relays.push(a, b, c);
    await waitFor(() => [a, b, c].every((r) => r.stats().cluster!.peers === 2), 3000, 'the three nodes');
    // The owner's node, then the users' nodes in turn: every user is on another node but the third.
    const userPorts = [b.port, c.port, a.port];
    const portOf = (clientName: string) => (clientName === 'owner' ? a.port : b.port);
    const clients = new Map<string, TestClient>();
    const pair = async (users: string[]) => {
      const owner = await TcpClient.connect(a.port);
      clients.set('owner', owner);
      owner.send('00 00 01 01 6A');
      expect(await owner.readHex('00 03 01 00 00')).toBe('00 03 01 00 00');
      for (let i = 0; i < users.length; i++) {
        const user = await TcpClient.connect(userPorts[i % 3]!);
        clients.set(users[i]!, user);
        user.send('00 01 01 01 6A');
        expect(await user.readHex('00 03 01 00 00')).toBe('00 03 01 00 00');
        const uc = `00 04 00 00 00 ${hexOf(Uint8Array.of(i))}`;
        expect(await owner.readHex(uc)).toBe(uc);
      }
    };
    if (vector.setup === 'pair') await pair(['user']);
    else if (vector.setup === 'pair3') await pair(['user0', 'user1', 'user2']);
    else if (vector.setup === 'full') {
      const owner = await TcpClient.connect(a.port);
      clients.set('owner', owner);
      owner.send('00 00 01 01 6A');
      await owner.read(5);
      const users = await Promise.all(Array.from({ length: 256 }, (_, i) => TcpClient.connect(userPorts[i % 3]!)));
      for (const u of users) u.send('00 01 01 01 6A');
      const replies = await Promise.all(users.map((u) => u.read(5, 10_000)));
      expect(replies.every((r) => r[3] === 0)).toBe(true);
      await owner.read(256 * 6, 10_000);
      clients.set('late', await TcpClient.connect(b.port));
    }
    await runSteps(vector, clients, {
      portOf,
      // The cluster still serves: a fresh owner on A and user on C exchange a frame.
      alive: async () => {
        const owner = await TcpClient.connect(a.port);
        const user = await TcpClient.connect(c.port);
        owner.send('00 00 01 05 616c697665');
        expect((await owner.read(5))[3]).toBe(0);
        user.send('00 01 01 05 616c697665');
        const entered = await user.read(5);
        expect(entered[3]).toBe(0);
        await owner.read(6);
        user.send(`03 ${hexOf(Uint8Array.of(entered[4]!))} 77 88`);
        expect(hexOf((await owner.read(5)).subarray(3))).toBe('77 88');
      },
    });
  });
});
