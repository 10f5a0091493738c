/**
 * The lifecycle the `relay --workers` suites share: a primary started detached (its own process
 * group, so one signal reaches its workers too) with its stderr kept as log lines, ready once both
 * workers listen and see each other, and killed with its workers after the test. Call
 * `workersSuite()` inside a `describe`: one nats-server per block, and every started primary gone
 * (with the raw clients) after each test. Also the frames and the check the handoff suites share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { closeAll, hexOf, type TcpClient } from '../relay/raw-client.js';
import { ROOT } from '../relay/cli-process.js';
import { byte } from '../relay/joint-commands.js';
import { waitFor } from './harness.js';

/** One JSON log line of a worker (the fields a test reads besides these vary by message). */
export interface WorkerLog {
  msg: string;
  worker: number;
  [field: string]: unknown;
}

/** A started primary and its two workers. */
export interface WorkersProcess {
  readonly child: ChildProcess;
  /** Its stderr so far, one entry a line (the array keeps growing). */
  readonly lines: string[];
  /** The log lines whose "msg" is `msg`, parsed, oldest first. */
  logged<T = WorkerLog>(msg: string): T[];
  /** Resolves once both workers logged "relay listening" and both "cluster peer up"; the error carries the log's tail. */
  ready(): Promise<void>;
  /** SIGKILL to the primary's process group (its workers too), unless the primary has exited. */
  stop(): void;
}

/** Run node with `nodeArgs` (a `relay --workers 2` primary: the CLI or a fixture) from the package root. */
export function startWorkersProcess(nodeArgs: string[]): WorkersProcess {
  const child = spawn(process.execPath, nodeArgs, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
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
  const logged = <T = WorkerLog>(msg: string): T[] => lines.filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l) as T);
  return {
    child,
    lines,
    logged,
    async ready() {
      await waitFor(() => logged('relay listening').length === 2, 20_000, 'two workers listening').catch((error: Error) => {
        throw new Error(`${error.message}; log:\n${lines.slice(-20).join('\n')}`);
      });
      await waitFor(() => logged('cluster peer up').length >= 2, 5000, 'the workers to see each other');
    },
    stop() {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    },
  };
}

export interface WorkersSuite {
  /** This block's nats-server (set once its beforeAll ran). */
  readonly nats: NatsServer;
  /** `startWorkersProcess(nodeArgs)`, stopped after the current test. */
  start(nodeArgs: string[]): WorkersProcess;
}

export function workersSuite(): WorkersSuite {
  let nats: NatsServer | undefined;
  let current: WorkersProcess | null = null;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(() => {
    closeAll();
    current?.stop();
    current = null;
  });
  afterAll(() => nats?.dispose());
  return {
    get nats(): NatsServer {
      if (nats === undefined) throw new Error('workersSuite: nats-server not started yet (use it inside a test)');
      return nats;
    },
    start(nodeArgs) {
      current = startWorkersProcess(nodeArgs);
      return current;
    },
  };
}

/** A user frame to in-joint 0 with 3 data bytes `i, n, 0x5a`. */
export const userFrame = (i: number, n: number): string => `04 00 ${byte(i)} ${byte(n)} 5a`;

/** Both ways between `owner` and its `users` (user u is user nr u): a broadcast reaches each, and a frame from each reaches the owner. */
export async function expectBothWays(owner: TcpClient, users: TcpClient[]): Promise<void> {
  owner.send('01 01 04 80 41 42 43');
  for (const c of users) expect(hexOf(await c.read(5))).toBe('04 00 41 42 43');
  for (let u = 0; u < users.length; u++) users[u]!.send(userFrame(u, 99));
  const back = await owner.read(6 * users.length);
  const senders = Array.from({ length: users.length }, (_, i) => hexOf(back.subarray(i * 6, i * 6 + 6)));
  expect(senders.sort()).toEqual(Array.from({ length: users.length }, (_, u) => `05 80 ${byte(u)} ${byte(u)} 63 5a`).sort());
}
