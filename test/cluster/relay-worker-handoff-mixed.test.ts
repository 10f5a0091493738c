/**
 * `relay --workers` handoffs between workers of different engines (src/relay/worker-handoff.ts,
 * docs/native-engine.md "Handover"): a native-engine worker hands a connection to a Node-engine
 * worker and the other way round, every byte once and in order, both ways after the move. The
 * two workers come from test/cluster/fixtures/mixed-workers-primary.ts (the CLI starts one engine
 * for all), each on its own port, so a client reaches the worker it means to. Skipped, loudly,
 * without nats-server or the native engine.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_NATS, NATS_SKIP_REASON } from '../helpers/nats-server.js';
import { TcpClient, hexOf } from '../relay/raw-client.js';
import { ROOT } from '../relay/cli-process.js';
import { byte, create, idHex } from '../relay/joint-commands.js';
import { waitFor } from './harness.js';
import { expectBothWays, userFrame, workersSuite } from './workers-process.js';
import { nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';

const support = nativeEngineSupport();
const MISSING = typeof support === 'string' ? support : support.Engine.handover !== true ? 'the loaded addon has no detach/adopt' : null;
if (MISSING !== null) console.warn(`SKIPPED relay --workers handoff between engines: ${MISSING}`);
const SKIP = MISSING !== null ? ` [skipped: ${MISSING}]` : '';

describe.skipIf(!HAS_NATS || MISSING !== null)(`relay --workers: handoffs between a native and a Node worker${NATS_SKIP_REASON}${SKIP}`, () => {
  const suite = workersSuite();

  type Line = { worker: number; port: number; engine: string; to?: number; from?: number; kept?: boolean };
  type Engine = 'native' | 'node';
  /** What `round` gets in each way between the engines: an owner of the new joint `room` on `to`'s worker; its users are to come from `from`'s. */
  type Round = (owner: TcpClient, from: Engine, to: Engine, room: string) => Promise<void>;
  /**
   * The two workers, listening and seeing each other: their log, each engine's port, and
   * `eachWay(round)`, native to Node then Node to native.
   */
  async function start(extra: string[]): Promise<{ logged: (msg: string) => Line[]; portOf: (engine: string) => number; lines: () => string[]; eachWay: (round: Round) => Promise<void> }> {
    const primary = suite.start(['--import', 'tsx', join(ROOT, 'test', 'cluster', 'fixtures', 'mixed-workers-primary.ts'), join(ROOT, 'src', 'cli.ts'), '--engine', 'native', '--port', '0', '--cluster', suite.nats.url, '--log-level', 'debug', '--max-connections-per-ip', '0', '--worker-handoff-timeout-ms', '15000', ...extra]);
    const logged = (msg: string): Line[] => primary.logged<Line>(msg);
    await primary.ready();
    const listening = logged('relay listening');
    const portOf = (engine: string): number => listening.find((l) => l.engine === engine)!.port;
    expect(listening.map((l) => `${l.worker}:${l.engine}`).sort()).toEqual(['1:native', '2:node']);
    const eachWay = async (round: Round): Promise<void> => {
      for (const [from, to, room] of [
        ['native', 'node', 'ra'],
        ['node', 'native', 'rb'],
      ] as const) {
        const owner = await TcpClient.connect(portOf(to));
        expect(await create(owner, room)).toEqual([0, 0]);
        await round(owner, from, to, room);
      }
    };
    return { logged, portOf, lines: () => primary.lines, eachWay };
  }

  it('native to Node and Node to native: every byte once and in order, both ways after the move', async () => {
    const { logged, portOf, eachWay } = await start([]);

    // The owner on one worker, the users on the other: every user is moved to the owner's.
    await eachWay(async (owner, from, _to, room) => {
      const users: TcpClient[] = [];
      for (let u = 0; u < 3; u++) {
        const c = await TcpClient.connect(portOf(from));
        users.push(c);
        c.send(`00 01 01 ${idHex(room)} ${userFrame(u, 0)}`);
        for (let n = 1; n <= 10; n++) c.send(userFrame(u, n));
        expect(hexOf(await c.read(5))).toBe('00 03 01 00 00');
        expect(hexOf(await owner.read(6))).toBe(`00 04 00 00 00 ${byte(u)}`);
        const got = await owner.read(11 * 6);
        for (let n = 0; n <= 10; n++) expect(hexOf(got.subarray(n * 6, n * 6 + 6))).toBe(`05 80 ${byte(u)} ${byte(u)} ${byte(n)} 5a`);
      }
      await expectBothWays(owner, users);
    });
    // The handing worker logs its move when the result comes back, after the adopter's log.
    await waitFor(() => logged('connection adopted').length === 6 && logged('connection handed over').length === 6, 10_000, 'the moves logged on both sides');
    const moved = logged('connection handed over');
    expect(moved.filter((m) => m.worker === 1 && m.to === 2).length).toBe(3);
    expect(moved.filter((m) => m.worker === 2 && m.to === 1).length).toBe(3);
    expect(logged('connection handoff refused; kept here')).toEqual([]);
  }, 60_000);

  it('a refused handoff leaves the connection where it was, on either engine, and it enters across NATS', async () => {
    // One connection per worker: the owner fills its worker, so the adopter's admission refuses.
    // (A long handoff timeout: on a loaded machine a refusal must not arrive after it.)
    const { logged, portOf, lines, eachWay } = await start(['--max-connections', '1']);
    await eachWay(async (owner, from, to, room) => {
      const user = await TcpClient.connect(portOf(from));
      user.send(`00 01 01 ${idHex(room)}`);
      expect(hexOf(await user.read(5))).toBe('00 03 01 00 00');
      expect(hexOf(await owner.read(6))).toBe('00 04 00 00 00 00');
      // Kept where it landed: both ways across NATS.
      user.send(userFrame(0, 1));
      expect(hexOf(await owner.read(6))).toBe('05 80 00 00 01 5a');
      owner.send('03 80 00 41');
      expect(hexOf(await user.read(3))).toBe('02 00 41');
      // Both gone before the next round, which needs their places.
      // A peer that goes while the relay writes to it may be logged as dropped (socket_error).
      const gone = (): number => logged('connection closed').length + logged('connection dropped').length;
      const closed = gone();
      user.destroy();
      owner.destroy();
      await waitFor(() => gone() >= closed + 2, 10_000, 'both closed').catch((error: Error) => {
        throw new Error(`${error.message} (${from} to ${to}); log:\n${lines().slice(-15).join('\n')}`);
      });
    });
    const refused = logged('connection handoff refused; kept here');
    expect(refused.map((r) => `${r.worker}>${r.to}:${String(r.kept)}`)).toEqual(['1>2:true', '2>1:true']);
    expect(logged('connection handed over')).toEqual([]);
  }, 60_000);
});
