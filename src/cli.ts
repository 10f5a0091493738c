#!/usr/bin/env node
/**
 * The `gamewire` command line. `gamewire relay [options]` runs the peote-server compatible relay
 * (docs/relay.md) until SIGINT or SIGTERM, then shuts down gracefully. `gamewire bench <kind>
 * [options]` loads a server and reports its throughput and latency (docs/bench.md, src/bench/cli.ts).
 */
import { readFileSync } from 'node:fs';
import nodeCluster, { type Worker } from 'node:cluster';
import { checkNodeId, generateNodeId } from './cluster/node-id.js';
import { LOG_LEVELS, Relay, createLogger, type LogLevel, type RelayOptions } from './relay/index.js';
import { DEFAULT_HOST, DEFAULT_PORT, MAX_WORKERS_COUNT, WORKER_HANDOFF_TIMEOUT_MS, WORKER_RESTART_MS } from './relay/limits.js';

const USAGE = `usage: gamewire relay [options]

Runs a relay compatible with peote-server (raw TCP and WebSocket on one port).

options:
  --host <addr>                  address to bind (default 127.0.0.1)
  --port <n>                     port to bind (default ${DEFAULT_PORT}; 0 = any free port)
  --config <file>                JSON file of relay options (camelCase names, see docs/relay.md);
                                 flags given on the command line win
  --metrics-port <n>             serve Prometheus metrics at http://<host>:<n>/metrics
  --metrics-host <addr>          address of the metrics endpoint (default: --host)
  --log-level <level>            ${LOG_LEVELS.join(' | ')} (default info)
  --max-connections-per-ip <n>   concurrent connections per source IP (default 23; 0 = no cap)
  --max-connections <n>          concurrent connections in all (default 10000; 0 = no cap)
  --idle-timeout-ms <n>          drop a connection silent this long (default 0 = never)
  --login-timeout-ms <n>         close a connection silent this long after accept (default 5000)
  --keepalive-ms <n>             keepalive after this much outbound silence (default 5000; 0 = off)
  --max-users-per-joint <n>      1..256 (default 256)
  --max-own-joints <n>           1..128 (default 128)
  --max-in-joints <n>            1..128 (default 128)
  --max-id-bytes <n>             0..255 (default 255)
  --max-outbound-bytes <n>       drop a peer with more unsent bytes that nobody waits on (default 16777216; 0 = no cap)
  --outbound-high-water-bytes <n> pause the users feeding a peer with more unsent bytes (default 524288; 0 = off)
  --outbound-low-water-bytes <n> read them again at or below this backlog (default 131072)
  --stall-timeout-ms <n>         drop a peer whose socket takes no byte this long (default 30000; 0 = never)
  --batch-delay-us <n>           native engine: after a busy turn, wait this long so reads and writes
                                 carry more frames (0..10000, default 500; 0 = never)
  --max-joints <n>               joints on the relay (default 100000; 0 = no cap)
  --max-joints-per-ip <n>        joints owned from one source IP (default 1000; 0 = no cap)
  --commands-per-sec <n>         commands per connection per second, burst 512 (default 64; 0 = no cap)
  --inbound-bytes-per-sec <n>    per-connection inbound byte rate (default 0 = unlimited)
  --inbound-units-per-sec <n>    per-connection inbound unit rate (default 0 = unlimited)
  --inbound-policy <p>           throttle (pause reading; default) | disconnect, past a rate
  --kick                         enable the kick extension (cmd 4); off by default
  --no-websocket                 raw TCP only
  --engine <e>                   native (default): sockets, parsing and forwarding in the addon's
                                 I/O thread (Linux; without it the node engine runs) | node; see docs/relay.md
  --cluster <url>                join a relay cluster over NATS (nats://host:4222; several: comma-separated);
                                 see docs/cluster.md
  --node-id <id>                 this node's id in the cluster ([A-Za-z0-9_-], 1..64; default generated)
  --workers <n>                  run n relay processes on the port (node:cluster), each a cluster node
                                 <id>-w<k> (needs --cluster; default 1); --metrics-port p: worker k on p+k-1
  --data-link <t>                tcp (default): batches between cluster nodes over a direct TCP connection
                                 per peer | nats: all through nats-server (needs --cluster)
  --data-host <addr>             address of the cluster data listener, advertised to the peers (default: the
                                 local address toward NATS; 0.0.0.0 or :: listens everywhere)
  --data-port <n>                port of the cluster data listener (default 0 = any; --workers: worker k on n+k-1)
  --worker-handoff-timeout-ms <n> --workers: close a connection handed to a sibling worker that does not
                                 answer within n ms (default ${WORKER_HANDOFF_TIMEOUT_MS})
  -h, --help                     show this help
`;

const MAIN_USAGE = `usage: gamewire <command> [options]

commands:
  relay            run a relay compatible with peote-server (gamewire relay --help: its options)
  bench            load a game server, report its throughput and latency (gamewire bench --help)

  -v, --version    print the version of gamewire
  -h, --help       show this help
`;

/** The version in our package.json (next to src/ and dist/ alike). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** Flags taking a number, and the option each sets. */
const NUMERIC_FLAGS: Record<string, keyof RelayOptions> = {
  '--port': 'port',
  '--metrics-port': 'metricsPort',
  '--max-connections-per-ip': 'maxConnectionsPerIp',
  '--max-connections': 'maxConnections',
  '--idle-timeout-ms': 'idleTimeoutMs',
  '--login-timeout-ms': 'loginTimeoutMs',
  '--keepalive-ms': 'keepaliveMs',
  '--max-users-per-joint': 'maxUsersPerJoint',
  '--max-own-joints': 'maxOwnJoints',
  '--max-in-joints': 'maxInJoints',
  '--max-id-bytes': 'maxIdBytes',
  '--max-outbound-bytes': 'maxOutboundBytes',
  '--outbound-high-water-bytes': 'outboundHighWaterBytes',
  '--outbound-low-water-bytes': 'outboundLowWaterBytes',
  '--stall-timeout-ms': 'stallTimeoutMs',
  '--batch-delay-us': 'batchDelayUs',
  '--max-joints': 'maxJoints',
  '--max-joints-per-ip': 'maxJointsPerIp',
  '--commands-per-sec': 'commandsPerSec',
  '--inbound-bytes-per-sec': 'inboundBytesPerSec',
  '--inbound-units-per-sec': 'inboundUnitsPerSec',
};

/** Relay options and what only the command line has. */
type RelayArgs = RelayOptions & { help?: boolean; workers?: number; workerHandoffTimeoutMs?: number };


/** Thrown for a bad command line; printed with the usage. */
class UsageError extends Error {}

/**
 * Parse `relay` arguments into options.
 * @throws UsageError on an unknown flag or a bad value.
 */
function parseRelayArgs(args: string[]): RelayArgs {
  const flags: Record<string, unknown> = {};
  let config: string | undefined;
  let clusterUrl: string | undefined;
  let nodeId: string | undefined;
  let workers = 1;
  let handoffTimeoutMs: number | undefined;
  const data: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${name} needs a value`);
      return next;
    };
    if (name === '-h' || name === '--help') return { help: true };
    if (name === '--kick') flags.kick = true;
    else if (name === '--no-websocket') flags.websocket = false;
    else if (name === '--host') flags.host = value();
    else if (name === '--metrics-host') flags.metricsHost = value();
    else if (name === '--config') config = value();
    else if (name === '--cluster') clusterUrl = value();
    else if (name === '--node-id') nodeId = value();
    else if (name === '--data-link') {
      const t = value();
      if (t !== 'tcp' && t !== 'nats') throw new UsageError('--data-link must be tcp or nats');
      data.dataLink = t;
    } else if (name === '--data-host') data.dataHost = value();
    else if (name === '--data-port' || name === '--worker-handoff-timeout-ms') {
      const text = value();
      const n = Number(text);
      const [min, max] = name === '--data-port' ? [0, 65_535] : [1, 600_000];
      if (!/^[0-9]+$/.test(text.trim()) || n < min || n > max) throw new UsageError(`${name} must be an integer in ${min}..${max}, got ${text}`);
      if (name === '--data-port') data.dataPort = n;
      else handoffTimeoutMs = n;
    }
    else if (name === '--workers') {
      const text = value();
      workers = Number(text);
      if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS_COUNT) throw new UsageError(`--workers must be an integer in 1..${MAX_WORKERS_COUNT}, got ${text}`);
    }
    else if (name === '--engine') {
      const e = value();
      if (e !== 'native' && e !== 'node') throw new UsageError('--engine must be native or node');
      flags.engine = e;
    }
    else if (name === '--inbound-policy') {
      const p = value();
      if (p !== 'throttle' && p !== 'disconnect') throw new UsageError('--inbound-policy must be throttle or disconnect');
      flags.inboundPolicy = p;
    }
    else if (name === '--log-level') {
      const level = value();
      if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      flags.logLevel = level as LogLevel;
    } else if (name in NUMERIC_FLAGS) {
      const text = value();
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${name} needs a number, got ${text}`);
      flags[NUMERIC_FLAGS[name]!] = n;
    } else throw new UsageError(`unknown option ${arg}`);
  }
  let fromFile: Record<string, unknown> = {};
  if (config !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(config, 'utf8'));
    } catch (err) {
      throw new UsageError(`cannot read --config ${config}: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--config ${config} must hold a JSON object`);
    fromFile = parsed as Record<string, unknown>;
  }
  if (nodeId !== undefined && clusterUrl === undefined && fromFile.cluster === undefined) throw new UsageError('--node-id needs --cluster');
  const dataFlag = Object.keys(data)[0];
  if (dataFlag !== undefined && clusterUrl === undefined && fromFile.cluster === undefined) throw new UsageError(`--${dataFlag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --cluster`);
  if (clusterUrl !== undefined || nodeId !== undefined || dataFlag !== undefined) {
    const base = (fromFile.cluster ?? {}) as Record<string, unknown>;
    const servers = clusterUrl !== undefined ? clusterUrl.split(',').filter((u) => u.length > 0) : base.servers;
    flags.cluster = { ...base, servers, ...(nodeId !== undefined ? { nodeId } : {}), ...data };
  }
  if (workers > 1 && flags.cluster === undefined && fromFile.cluster === undefined) throw new UsageError('--workers needs --cluster: the workers share joints through it');
  return { port: DEFAULT_PORT, ...fromFile, ...flags, ...(workers > 1 ? { workers } : {}), ...(handoffTimeoutMs !== undefined ? { workerHandoffTimeoutMs: handoffTimeoutMs } : {}) } as RelayOptions;
}

async function runRelay(args: string[]): Promise<number> {
  let options: RelayArgs;
  try {
    options = parseRelayArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`gamewire relay: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const workers = options.workers ?? 1;
  const handoffTimeoutMs = options.workerHandoffTimeoutMs;
  delete options.workers;
  delete options.workerHandoffTimeoutMs;
  if (workers > 1 && nodeCluster.isPrimary) return runPrimary(options, workers);
  const k = Number(process.env.GAMEWIRE_RELAY_WORKER ?? 0);
  if (k > 0 && options.cluster !== undefined) {
    // A worker: its own node of the cluster, its own metrics port.
    options.cluster = { ...options.cluster, nodeId: `${process.env.GAMEWIRE_RELAY_NODE_ID}-w${k}` };
    if (options.metricsPort !== undefined && options.metricsPort > 0) options.metricsPort += k - 1;
    // Each worker listens on its own data port (a shared one would mix up the peers' hellos).
    const dataPort = options.cluster.dataPort;
    if (dataPort !== undefined && dataPort > 0) options.cluster = { ...options.cluster, dataPort: dataPort + k - 1 };
    const handoff = (await import('./relay/worker-handoff.js')).WorkerHandoff.get();
    if (handoff !== null && handoffTimeoutMs !== undefined) handoff.timeoutMs = handoffTimeoutMs;
  }
  const logger = createLogger({ level: options.logLevel ?? 'info', base: { component: 'relay', ...(k > 0 ? { worker: k } : {}) } });
  let relay: Relay;
  try {
    relay = await Relay.listen({ ...options, logger });
  } catch (err) {
    logger.error('relay failed to start', { error: (err as Error).message });
    return 1;
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        // A second signal: do not wait any longer.
        process.exit(1);
      }
      stopping = true;
      logger.info('shutting down', { signal });
      relay.close().then(resolve, resolve);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

/**
 * `--workers n`: fork n relay processes that share the port (node:cluster hands each accepted
 * connection to one of them), each its own cluster node `<id>-w<k>`, joined through the same NATS.
 * A worker that dies is started again; SIGINT/SIGTERM stop them all.
 */
async function runPrimary(options: RelayOptions, workers: number): Promise<number> {
  const logger = createLogger({ level: options.logLevel ?? 'info', base: { component: 'relay', role: 'primary' } });
  const base = options.cluster?.nodeId ?? generateNodeId();
  checkNodeId(`${base}-w${workers}`, '--node-id');
  let stopping = false;
  const live = new Map<number, Worker>();
  (await import('./relay/worker-handoff.js')).routeWorkerHandoffs(live);
  // Workers on the native engine listen on a port the primary holds, with SO_REUSEPORT (node:cluster
  // shares only the ports Node listens on itself); workers on the Node engine never ask for it.
  const { serveSharedPort, sharedPortEnv } = await import('./relay/worker-listener.js');
  const listener = serveSharedPort(options.host ?? DEFAULT_HOST, options.port ?? DEFAULT_PORT);
  const fork = (k: number): void => {
    const worker = nodeCluster.fork({ GAMEWIRE_RELAY_WORKER: String(k), GAMEWIRE_RELAY_NODE_ID: base, ...sharedPortEnv() });
    listener.watch(worker);
    live.set(k, worker);
    worker.once('exit', (code, signal) => {
      live.delete(k);
      if (stopping) return;
      logger.error('relay worker died; starting it again', { worker: k, code: code ?? undefined, signal: signal ?? undefined });
      setTimeout(() => !stopping && fork(k), WORKER_RESTART_MS).unref();
    });
  };
  for (let k = 1; k <= workers; k++) fork(k);
  logger.info('relay workers started', { workers, node: base });
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      if (stopping) process.exit(1);
      stopping = true;
      logger.info('shutting down', { signal, workers: live.size });
      if (live.size === 0) resolve();
      for (const worker of live.values()) {
        worker.once('exit', () => live.size === 0 && resolve());
        worker.process.kill('SIGTERM');
      }
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  listener.close();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(`gamewire: missing command (try: gamewire relay)\n\n${MAIN_USAGE}`);
    return 2;
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(MAIN_USAGE);
    return 0;
  }
  if (command === '-v' || command === '--version' || command === 'version') {
    process.stdout.write(`gamewire ${version()}\n`);
    return 0;
  }
  if (command === 'relay') return runRelay(rest);
  // Loaded on demand: running a relay does not load the load generator.
  if (command === 'bench') return (await import('./bench/cli.js')).runBenchCli(rest);
  process.stderr.write(`gamewire: unknown command ${command}\n\n${MAIN_USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`gamewire: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
