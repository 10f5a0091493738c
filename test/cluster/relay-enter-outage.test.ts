/**
 * An enter of a joint on another node while NATS is down (issue 18, docs/cluster.md §7): held
 * instead of failed after `directoryTimeoutMs`. NATS back within `natsGraceMs`: answered (OK, the
 * owner hears userConnect, data flows). NATS still down when the grace ends: error 1, the reason
 * the cross-node joints end with then. nats-server is SIGKILLed and restarted on its port.
 */
import { describe, expect, it } from 'vitest';
import type { Relay } from '../../src/relay/index.js';
import { HAS_NATS, NATS_SKIP_REASON } from '../helpers/nats-server.js';
import { TcpClient, hexOf } from '../relay/raw-client.js';
import { create, idHex } from '../relay/joint-commands.js';
import { waitFor } from './harness.js';
import { relaySuite } from './relay-suite.js';

/** The directory and ENTER time out well before the grace ends: a held enter outlives them. */
const TIMINGS = {
  heartbeatMs: 200,
  peerTimeoutMs: 3000,
  membershipCheckMs: 20,
  natsGraceMs: 1500,
  reconnectWaitMs: 50,
  directoryTimeoutMs: 400,
};

describe.skipIf(!HAS_NATS)(`relay cluster: an enter across nodes during a NATS outage${NATS_SKIP_REASON}`, () => {
  const suite = relaySuite('enterout');
  const two = async (): Promise<[Relay, Relay]> => {
    const { a, b } = await suite.pair(TIMINGS);
    return [a, b];
  };

  it('holds the enter past directoryTimeoutMs and answers it when NATS is back', async () => {
    const [a, b] = await two();
    const owner = await TcpClient.connect(a.port);
    expect(await create(owner, 'held')).toEqual([0, 0]);
    const user = await TcpClient.connect(b.port);
    await suite.nats.kill();
    await waitFor(() => b.stats().cluster!.nats === 'down', 2000, 'b to see NATS down');
    user.send(`00 01 01 ${idHex('held')}`);
    // Twice the directory timeout: today's answer (error 1) would have come by now.
    expect((await user.silence(2 * TIMINGS.directoryTimeoutMs)).length).toBe(0);
    expect(b.stats().cluster!.nats).toBe('down');
    await suite.nats.start();
    expect(hexOf(await user.read(5, 4000))).toBe('00 03 01 00 00');
    expect(await owner.readHex('00 04 00 00 00 00', 3000)).toBe('00 04 00 00 00 00');
    // Nobody was declared dead, the membership is real: data both ways.
    expect(b.stats().cluster!.peers).toBe(1);
    user.send('03 00 41 42');
    expect(hexOf(await owner.read(5))).toBe('04 80 00 41 42');
    owner.send('04 80 00 43 44');
    expect(hexOf(await user.read(4))).toBe('03 00 43 44');
  });

  it('answers a held enter with error 1 when the grace runs out, and the commands behind it in order', async () => {
    const [a, b] = await two();
    const owner = await TcpClient.connect(a.port);
    expect(await create(owner, 'gone')).toEqual([0, 0]);
    const user = await TcpClient.connect(b.port);
    await suite.nats.kill();
    await waitFor(() => b.stats().cluster!.nats === 'down', 2000, 'b to see NATS down');
    // The enter, then a create of a local id behind it: answered after it, in order.
    user.send(`00 01 01 ${idHex('gone')} 00 00 02 ${idHex('mine')}`);
    expect((await user.silence(2 * TIMINGS.directoryTimeoutMs)).length).toBe(0);
    const reply = await user.read(5, TIMINGS.natsGraceMs + 3000);
    expect(hexOf(reply)).toBe('00 03 01 01 01');
    expect(b.stats().cluster!.nats).toBe('isolated');
    // The create needs the directory, which is gone too: error 2 after directoryTimeoutMs, but after the enter.
    expect(hexOf(await user.read(5, 3000))).toBe('00 03 02 01 02');
    // The owner on A never heard of this user.
    expect((await owner.silence(50)).length).toBe(0);
  });

  it('answers error 1 at once while isolated', async () => {
    const [a, b] = await two();
    const owner = await TcpClient.connect(a.port);
    expect(await create(owner, 'iso')).toEqual([0, 0]);
    await suite.nats.kill();
    await waitFor(() => b.stats().cluster!.nats === 'isolated', TIMINGS.natsGraceMs + 3000, 'b to be isolated');
    const user = await TcpClient.connect(b.port);
    user.send(`00 01 01 ${idHex('iso')}`);
    expect(hexOf(await user.read(5, 1000))).toBe('00 03 01 01 01');
  });
});
