/**
 * `relay --workers` handoffs between workers of different engines (src/relay/worker-handoff.ts,
 * docs/native-engine.md "Handover"): a native-engine worker hands a connection to a Node-engine
 * worker and the other way round, every byte once and in order, both ways after the move. The
 * two workers come from test/cluster/fixtures/mixed-workers-primary.ts (the CLI starts one engine
 * for all), each on its own port, so a client reaches the worker it means to. Skipped, loudly,
 * without nats-server or the native engine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HAS_NATS, NATS_SKIP_REASON, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { TcpClient, closeAll, hexOf } from '../relay/raw-client.js';
import { ROOT } from '../relay/cli-process.js';
import { byte, create, idHex } from '../relay/joint-commands.js';
import { waitFor } from './harness.js';
import { nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';

const support = nativeEngineSupport();
const MISSING = typeof support === 'string' ? support : support.Engine.handover !== true ? 'the loaded addon has no detach/adopt' : null;
if (MISSING !== null) console.warn(`SKIPPED relay --workers handoff between engines: ${MISSING}`);
const SKIP = MISSING !== null ? ` [skipped: ${MISSING}]` : '';

/** A user frame to in-joint 0 with 3 data bytes `i, n, 0x5a`. */
const userFrame = (i: number, n: number): string => `04 00 ${byte(i)} ${byte(n)} 5a`;

describe.skipIf(!HAS_NATS || MISSING !== null)(`relay --workers: handoffs between a native and a Node worker${NATS_SKIP_REASON}${SKIP}`, () => {
  let nats: NatsServer;
  let child: ChildProcess | null = null;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(() => {
    closeAll();
    if (child !== null && child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    child = null;
  });
  afterAll(() => nats?.dispose());

  type Line = { worker: number; port: number; engine: string; to?: number; from?: number; kept?: boolean };
  /** The two workers, listening and seeing each other: their log and each engine's port. */
  async function start(extra: string[]): Promise<{ logged: (msg: string) => Line[]; portOf: (engine: string) => number; lines: () => string[] }> {
    child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'cluster', 'fixtures', 'mixed-workers-primary.ts'), join(ROOT, 'src', 'cli.ts'), '--engine', 'native', '--port', '0', '--cluster', nats.url, '--log-level', 'debug', '--max-connections-per-ip', '0', '--worker-handoff-timeout-ms', '15000', ...extra], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    const lines: string[] = [];
    let buffered = '';
    child.stderr!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        lines.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    const logged = (msg: string): Line[] => lines.filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l) as Line);
    await waitFor(() => logged('relay listening').length === 2, 20_000, 'two workers listening').catch((error: Error) => {
      throw new Error(`${error.message}; log:\n${lines.slice(-20).join('\n')}`);
    });
    await waitFor(() => logged('cluster peer up').length >= 2, 5000, 'the workers to see each other');
    const listening = logged('relay listening');
    const portOf = (engine: string): number => listening.find((l) => l.engine === engine)!.port;
    expect(listening.map((l) => `${l.worker}:${l.engine}`).sort()).toEqual(['1:native', '2:node']);
    return { logged, portOf, lines: () => lines };
  }

  it('native to Node and Node to native: every byte once and in order, both ways after the move', async () => {
    const { logged, portOf } = await start([]);

    // The owner on one worker, the users on the other: every user is moved to the owner's.
    for (const [from, to, room] of [
      ['native', 'node', 'ra'],
      ['node', 'native', 'rb'],
    ] as const) {
      const owner = await TcpClient.connect(portOf(to));
      expect(await create(owner, room)).toEqual([0, 0]);
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
      owner.send('01 01 04 80 41 42 43');
      for (const c of users) expect(hexOf(await c.read(5))).toBe('04 00 41 42 43');
      for (let u = 0; u < users.length; u++) users[u]!.send(userFrame(u, 99));
      const back = await owner.read(6 * users.length);
      const senders = Array.from({ length: users.length }, (_, i) => hexOf(back.subarray(i * 6, i * 6 + 6)));
      expect(senders.sort()).toEqual(Array.from({ length: users.length }, (_, u) => `05 80 ${byte(u)} ${byte(u)} 63 5a`).sort());
    }
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
    const { logged, portOf, lines } = await start(['--max-connections', '1']);
    for (const [from, to, room] of [
      ['native', 'node', 'ra'],
      ['node', 'native', 'rb'],
    ] as const) {
      const owner = await TcpClient.connect(portOf(to));
      expect(await create(owner, room)).toEqual([0, 0]);
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
    }
    const refused = logged('connection handoff refused; kept here');
    expect(refused.map((r) => `${r.worker}>${r.to}:${String(r.kept)}`)).toEqual(['1>2:true', '2>1:true']);
    expect(logged('connection handed over')).toEqual([]);
  }, 60_000);
});
