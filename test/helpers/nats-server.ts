/**
 * A nats-server child process for the cluster suites (issue 18): Debian's binary (or the one
 * named by GAMEWIRE_NATS_SERVER) on a free 127.0.0.1 port, optionally with JetStream in a temp
 * store dir, stopped by PID (SIGTERM, then SIGKILL, bounded). It can be stopped and started again
 * on the same port and store, which is what the outage tests need.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long a start may take before it fails (ms); Debian's binary starts in ~50 ms here. */
const START_TIMEOUT_MS = 10_000;
/** How long SIGTERM gets before SIGKILL (ms). */
const TERM_GRACE_MS = 3_000;
/** Standard error kept for a failure message (bytes). */
const MAX_LOG_BYTES = 16 * 1024;
/** What nats-server writes to stderr once it listens for clients. */
const READY_LINE = 'Server is ready';
/** Free ports tried when the chosen one was taken before nats-server could bind it. */
const START_ATTEMPTS = 3;

function executable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The nats-server binary, or null when none is installed (the suites then skip, loudly). */
export function natsServerPath(): string | null {
  const candidates = process.env.GAMEWIRE_NATS_SERVER ? [process.env.GAMEWIRE_NATS_SERVER] : ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];
  for (const path of candidates) if (executable(path)) return path;
  return null;
}

/** True when nats-server can be started. */
export const HAS_NATS = natsServerPath() !== null;

/**
 * Appended to each cluster suite's title, so a skipped suite says why in vitest's summary (see
 * test/helpers/skip-reasons-reporter.ts), not only in the warning above.
 */
export const NATS_SKIP_REASON = HAS_NATS ? '' : ' [skipped: no nats-server; bash scripts/install-nats.sh or set GAMEWIRE_NATS_SERVER]';

if (!HAS_NATS) {
  // Loud on purpose: a skipped cluster suite must not pass unnoticed.
  console.warn(
    [
      '',
      '#'.repeat(78),
      '# gamewire CLUSTER TESTS SKIPPED: no nats-server found',
      '# Install Debian\'s nats-server with:  bash scripts/install-nats.sh',
      '#   (runs `apt-get install -y nats-server`; .ci/run does this before `npm test`)',
      '# or point GAMEWIRE_NATS_SERVER at another nats-server binary.',
      '#'.repeat(78),
      '',
    ].join('\n'),
  );
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something on 127.0.0.1:port sends the NATS greeting (`INFO {...}`). */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    let seen = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if (seen.startsWith('INFO ')) done(true);
      else if (seen.length > 4) done(false);
    });
  });
}

/**
 * Servers of this process still running, and store dirs not yet removed: killed and removed when
 * the process exits, so a test or bench that fails before its cleanup leaves no nats-server behind.
 */
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface NatsServerOptions {
  /** Enable JetStream (needed by the KV directory), store in a temp dir; default true. */
  jetstream?: boolean;
  /** Port; default a free one. */
  port?: number;
}

/** A running (or stopped) nats-server child; see `startNatsServer`. */
export class NatsServer {
  private child: ChildProcess | null = null;
  private log = '';
  /** Set when the last start failed because another process had the port. */
  lostPort = false;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    private readonly binary: string,
    /** The loopback port, kept across stop/start. */
    readonly port: number,
    /** The JetStream store dir, kept across stop/start, removed by `dispose`; null without JetStream. */
    readonly storeDir: string | null,
  ) {}

  /** The URL the NATS clients use. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The child's PID while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while the child runs. */
  get running(): boolean {
    return this.child !== null;
  }

  /** @internal used by `startNatsServer`. */
  static async create(options: NatsServerOptions): Promise<NatsServer> {
    const binary = natsServerPath();
    if (binary === null) throw new Error('nats-server is not installed (bash scripts/install-nats.sh)');
    // A port chosen here can be taken by another process before nats-server binds it: try again
    // on another (a port the caller chose is tried once).
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      const storeDir = options.jetstream === false ? null : mkdtempSync(join(tmpdir(), 'gamewire-nats-'));
      if (storeDir !== null) dirs.add(storeDir);
      const server = new NatsServer(binary, port, storeDir);
      try {
        await server.start();
        return server;
      } catch (error) {
        await server.dispose();
        if (options.port !== undefined || attempt >= START_ATTEMPTS || !server.lostPort) throw error;
      }
    }
  }

  /** Start the server (again) on the same port and store; resolves when it greets a client. */
  async start(): Promise<void> {
    if (this.child !== null) throw new Error('nats-server already running');
    const args = ['-a', '127.0.0.1', '-p', String(this.port)];
    if (this.storeDir !== null) args.push('-js', '-sd', this.storeDir);
    const child = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    live.add(child);
    this.log = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (this.log.length < MAX_LOG_BYTES) this.log += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        live.delete(child);
        if (this.child === child) this.child = null;
        resolve();
      });
      child.once('error', () => {
        live.delete(child);
        if (this.child === child) this.child = null;
        resolve();
      });
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child !== child) break;
      // Our own server must say it is ready: another test process's server may have taken the
      // port between freePort() and the bind, and its greeting would pass for ours.
      if (this.log.includes(READY_LINE) && (await greets(this.port))) return;
      await sleep(25);
    }
    await this.stop();
    this.lostPort = this.log.includes('address already in use');
    throw new Error(`nats-server did not start on 127.0.0.1:${this.port}:\n${this.log}`);
  }

  /** Stop it by PID: SIGTERM, SIGKILL after a bounded wait; resolves when it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    child.kill('SIGTERM');
    const killed = await Promise.race([this.exited.then(() => true), sleep(TERM_GRACE_MS).then(() => false)]);
    if (!killed) {
      child.kill('SIGKILL');
      await this.exited;
    }
    this.child = null;
  }

  /** Stop it at once (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    child.kill('SIGKILL');
    await this.exited;
    this.child = null;
  }

  /** Stop it and remove its store dir. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.storeDir !== null) {
      rmSync(this.storeDir, { recursive: true, force: true });
      dirs.delete(this.storeDir);
    }
  }
}

/** Start a nats-server on a free loopback port (JetStream on unless `jetstream: false`). */
export function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  return NatsServer.create(options);
}
