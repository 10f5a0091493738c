/**
 * The relay cluster when things go wrong (issue 18 phase 2): nats-server killed during traffic
 * (same-node joints go on, cross-node ones end with reason 1 after the grace period, the node
 * rejoins and keeps its ids), and hostile input (a garbage client on one node, garbage and forged
 * records on the NATS subjects) that disturbs no joint on other nodes.
 */
import { connect as natsConnect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import type { Relay } from '../../src/relay/index.js';
import { HAS_NATS, NATS_SKIP_REASON } from '../helpers/nats-server.js';
import { TcpClient, hexOf, type TestClient } from '../relay/raw-client.js';
import { FAST, waitFor } from './harness.js';
import { relaySuite } from './relay-suite.js';

const byte = (n: number): string => hexOf(Uint8Array.of(n));
const idHex = (id: string): string => `${byte(Buffer.byteLength(id))} ${hexOf(Buffer.from(id))}`.trim();

async function command(c: TestClient, cmd: number, id: string, cmdNr = 1): Promise<[number, number]> {
  c.send(`00 ${byte(cmd)} ${byte(cmdNr)} ${idHex(id)}`);
  const r = await c.read(5);
  expect(hexOf(r.subarray(0, 3))).toBe(`00 03 ${byte(cmdNr)}`);
  return [r[3]!, r[4]!];
}
const create = (c: TestClient, id: string, cmdNr = 1) => command(c, 0, id, cmdNr);
const enter = (c: TestClient, id: string, cmdNr = 1) => command(c, 1, id, cmdNr);

describe.skipIf(!HAS_NATS)(`relay cluster failures${NATS_SKIP_REASON}`, () => {
  const suite = relaySuite('outage');
  const two = async (): Promise<[Relay, Relay, string]> => {
    const { a, b, name } = await suite.pair(FAST);
    return [a, b, name];
  };

  it('keeps same-node joints through a NATS outage, ends cross-node ones with reason 1, and rejoins', async () => {
    const [a, b] = await two();
    const owner = await TcpClient.connect(a.port);
    expect(await create(owner, 'hall')).toEqual([0, 0]);
    const local = await TcpClient.connect(a.port);
    const remote = await TcpClient.connect(b.port);
    expect(await enter(local, 'hall')).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 00')).toBe('00 04 00 00 00 00');
    expect(await enter(remote, 'hall')).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 01')).toBe('00 04 00 00 00 01');
    remote.send('03 00 01 02');
    expect(hexOf(await owner.read(5))).toBe('04 80 01 01 02');

    await suite.nats.kill();
    // After natsGraceMs both nodes are isolated: the cross-node membership ends on both sides.
    const bound = FAST.natsGraceMs + FAST.peerTimeoutMs + 2000;
    expect(hexOf(await remote.read(6, bound))).toBe('00 04 00 02 00 01');
    expect(hexOf(await owner.read(7, bound))).toBe('00 05 00 01 00 01 01');
    // The same-node pair never noticed.
    local.send('03 00 0a 0b');
    expect(hexOf(await owner.read(5))).toBe('04 80 00 0a 0b');
    owner.send('04 80 00 0c 0d');
    expect(hexOf(await local.read(4))).toBe('03 00 0c 0d');

    await suite.nats.start();
    await waitFor(() => a.stats().cluster!.nats === 'up' && b.stats().cluster!.nats === 'up', 10_000, 'NATS back on both');
    await waitFor(() => a.stats().cluster!.peers === 1 && b.stats().cluster!.peers === 1, 5000, 'a and b to see each other again');
    // The id stayed a's (reasserted as its new incarnation): b can enter again, not create it.
    const again = await TcpClient.connect(b.port);
    expect(await create(again, 'hall')).toEqual([1, 2]);
    let r: [number, number] = [1, 1];
    for (let i = 0; i < 20 && r[0] !== 0; i++) {
      r = await enter(again, 'hall', 2);
      if (r[0] !== 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(r).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 01')).toBe('00 04 00 00 00 01');
  });

  it('drops a garbage client on one node and ignores garbage and forged records on NATS; joints on the other node go on', async () => {
    const [a, b, name] = await two();
    const owner = await TcpClient.connect(a.port);
    expect(await create(owner, 'calm')).toEqual([0, 0]);
    const user = await TcpClient.connect(b.port);
    expect(await enter(user, 'calm')).toEqual([0, 0]);
    await owner.read(6);
    // A hostile client on b: it enters, then sends an unknown command (joint.md D9: dropped).
    const hostile = await TcpClient.connect(b.port);
    expect(await enter(hostile, 'calm')).toEqual([0, 0]);
    expect(await owner.readHex('00 04 00 00 00 01')).toBe('00 04 00 00 00 01');
    hostile.send('00 09 00 00');
    expect(await hostile.waitClosed(2000)).toBe(true);
    expect(await owner.readHex('00 05 00 01 00 01 01')).toBe('00 05 00 01 00 01 01');
    // Garbage and well-formed forgeries from an unknown node on a's subject.
    const nc = await natsConnect({ servers: suite.nats.url });
    try {
      nc.publish(`${name}.n.a`, Buffer.from('garbage'));
      const forged = Buffer.alloc(27 + 5 + 9);
      forged[0] = 1; // version
      forged[1] = 1; // records follow
      forged.writeDoubleLE(1, 2);
      forged.writeDoubleLE(a.stats().cluster!.epoch, 10);
      forged.writeUInt32LE(1, 18);
      forged[26] = 5;
      forged.write('ghost', 27, 'latin1');
      // TO_OWNER jointRef 1, userNr 0, 1 data byte: not the user ghost has (it has none).
      Buffer.of(0x06, 1, 0, 0, 0, 0, 1, 0, 0x66).copy(forged, 32);
      nc.publish(`${name}.n.a`, forged);
      await nc.flush();
    } finally {
      await nc.close();
    }
    user.send('03 00 33 44');
    expect(hexOf(await owner.read(5))).toBe('04 80 00 33 44');
    owner.send('04 80 00 55');
    expect(hexOf(await user.read(3))).toBe('02 00 55');
    expect(owner.available).toBe(0);
    expect(a.stats().cluster!.drops).toBeGreaterThanOrEqual(1);
  });
});
