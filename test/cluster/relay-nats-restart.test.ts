/**
 * Two relays through a short NATS outage during cross-node traffic (docs/cluster.md §7), on both
 * data links: nats-server is SIGKILLed and started again within the grace period while a user on
 * relay b streams frames to its joint's owner on relay a and the owner streams back; a comes back
 * to NATS well after b, so b publishes while a is not subscribed. The joint survives: every frame
 * arrives once and in order both ways, nobody gets an event, no link fails.
 */
import { describe, expect, it } from 'vitest';
import { Relay, silentLogger } from '../../src/relay/index.js';
import { HAS_NATS, NATS_SKIP_REASON } from '../helpers/nats-server.js';
import { TcpClient, hexOf } from '../relay/raw-client.js';
import { create, enter } from '../relay/joint-commands.js';
import { waitFor } from './harness.js';
import { relaySuite } from './relay-suite.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Frame n from the user to its owner: 3 data bytes `hi lo 5a`. */
const userFrame = (n: number): Buffer => Buffer.of(0x04, 0x00, n >> 8, n & 0xff, 0x5a);
/** Frame n from the owner to its user 0: 3 data bytes `hi lo a5`. */
const ownerFrame = (n: number): Buffer => Buffer.of(0x05, 0x80, 0x00, n >> 8, n & 0xff, 0xa5);

describe.skipIf(!HAS_NATS)(`relay cluster through a NATS restart during traffic${NATS_SKIP_REASON}`, () => {
  const suite = relaySuite('restart');

  for (const dataLink of ['nats', 'tcp'] as const) {
    it(`keeps a cross-node joint and every frame, both ways (dataLink: '${dataLink}')`, async () => {
      const name = suite.name();
      // A grace long enough for a kill and start of nats-server and a's slow reconnect on a loaded machine.
      const timing = { heartbeatMs: 100, membershipCheckMs: 20, peerTimeoutMs: 4000, natsGraceMs: 3500, directoryTimeoutMs: 2000 };
      const start = (nodeId: string, reconnectWaitMs: number) =>
        Relay.listen({ logger: silentLogger, maxConnectionsPerIp: 0, cluster: { servers: suite.nats.url, nodeId, name, dataLink, dataHost: '127.0.0.1', reconnectWaitMs, ...timing } });
      const [a, b] = await Promise.all([start('a', 600), start('b', 50)]);
      suite.relays.push(a, b);
      await waitFor(() => a.stats().cluster!.peers === 1 && b.stats().cluster!.peers === 1, 5000, 'a and b to see each other');
      const owner = await TcpClient.connect(a.port);
      expect(await create(owner, 'stay')).toEqual([0, 0]);
      const user = await TcpClient.connect(b.port);
      expect(await enter(user, 'stay')).toEqual([0, 0]);
      expect(hexOf(await owner.read(6))).toBe('00 04 00 00 00 00');

      let sent = 0;
      let pumping = true;
      const pump = (async () => {
        while (pumping) {
          for (let k = 0; k < 4; k++, sent++) {
            user.send(userFrame(sent));
            owner.send(ownerFrame(sent));
          }
          await sleep(5);
        }
      })();
      await sleep(150);
      await suite.nats.kill();
      await waitFor(() => a.stats().cluster!.nats === 'down' && b.stats().cluster!.nats === 'down', 3000, 'NATS down on both');
      await sleep(150);
      await suite.nats.start();
      await waitFor(() => a.stats().cluster!.nats === 'up' && b.stats().cluster!.nats === 'up', 6000, 'NATS back on both');
      await sleep(300);
      pumping = false;
      await pump;

      // Every frame once, in order, and nothing else (no event of a gone user or joint).
      const atOwner = await owner.read(sent * 6, 10_000);
      const atUser = await user.read(sent * 5, 10_000);
      let wrong = 0;
      for (let i = 0; i < sent; i++) {
        if (!atOwner.subarray(i * 6, i * 6 + 6).equals(Buffer.of(0x05, 0x80, 0x00, i >> 8, i & 0xff, 0x5a))) wrong++;
        if (!atUser.subarray(i * 5, i * 5 + 5).equals(Buffer.of(0x04, 0x00, i >> 8, i & 0xff, 0xa5))) wrong++;
      }
      expect(wrong).toBe(0);
      for (const relay of [a, b]) {
        const s = relay.stats().cluster!;
        expect(s.linkFailures).toBe(0);
        expect(s.peers).toBe(1);
        expect(s.nats).toBe('up');
      }
      // The joint still works after.
      user.send(userFrame(0xbeef));
      expect(hexOf(await owner.read(6))).toBe('05 80 00 be ef 5a');
    });
  }
});
