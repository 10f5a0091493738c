/**
 * Relay options: every limit and timer, with the original peote-server values as defaults
 * (joint.md §7). `resolveRelayOptions` checks them once at startup (misuse throws).
 */
import type { ClusterOptions } from '../cluster/cluster.js';
import { rejectUnknownOptions } from '../core/validate.js';
import type { Logger, LogLevel } from './logger.js';
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  KEEPALIVE_MS,
  IDLE_TIMEOUT_MS,
  LOGIN_TIMEOUT_MS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_IP,
  MAX_ID_BYTES,
  MAX_IN_JOINTS,
  MAX_OUTBOUND_BYTES,
  MAX_OWN_JOINTS,
  MAX_JOINTS,
  MAX_JOINTS_PER_IP,
  COMMANDS_PER_SEC,
  COMMAND_BURST_COUNT,
  OUTBOUND_HIGH_WATER_BYTES,
  OUTBOUND_LOW_WATER_BYTES,
  STALL_TIMEOUT_MS,
  MAX_USERS_PER_JOINT,
  MAX_WEBSOCKET_PAYLOAD_BYTES,
  RATE_BURST_SECONDS,
  CLOSE_GRACE_MS,
  BATCH_DELAY_US,
  MAX_BATCH_DELAY_US,
} from './limits.js';

/** Options of `Relay.listen`. Every field is optional; the defaults are the original's. */
export interface RelayOptions {
  /** Address to bind (default `127.0.0.1`). */
  host?: string;
  /** Port to bind; 0 lets the OS choose (default 0 programmatically, 7680 in the CLI). */
  port?: number;
  /** Accept WebSocket clients on the same port, told apart by a first byte `G` (default true; joint.md §9). */
  websocket?: boolean;
  /** Milliseconds from accept until the first byte or the end of the WS handshake (default 5000; 0 = none). */
  loginTimeoutMs?: number;
  /** Milliseconds of outbound silence before a keepalive `00 04 00 FF 00 00` (default 5000; 0 = never). */
  keepaliveMs?: number;
  /** Concurrent connections per source IP address (default 23; 0 = unlimited). Connection N+1 is closed at once, no bytes. */
  maxConnectionsPerIp?: number;
  /** Concurrent connections in all (default 10000; 0 = unlimited). Connection N+1 is closed at once, no bytes. */
  maxConnections?: number;
  /**
   * Milliseconds of inbound silence before a connection is dropped with reason `idle` (default 0 =
   * never: peote-net clients send nothing while idle). Set it when your clients talk regularly.
   */
  idleTimeoutMs?: number;
  /** Own joints per connection, 1..128 (default 128; create err 1 past it). */
  maxOwnJoints?: number;
  /** Entered joints per connection, 1..128 (default 128; enter err 5 past it). */
  maxInJoints?: number;
  /** Users per joint, 1..256 (default 256; enter err 4 past it). */
  maxUsersPerJoint?: number;
  /** Joints on the relay in all (default 100000; 0 = unlimited; create err 1 past it). */
  maxJoints?: number;
  /** Joints owned by the connections of one source IP (default 1000; 0 = unlimited; create err 1 past it). */
  maxJointsPerIp?: number;
  /** Commands per second per connection (default 64; 0 = unlimited). Past the bucket the connection is dropped (`rate_limit`). */
  commandsPerSec?: number;
  /** Commands a connection may send at once before `commandsPerSec` applies (default 512). */
  commandBurst?: number;
  /** Joint id length in bytes, 0..255 (default 255; create err 3 past it, an extension). */
  maxIdBytes?: number;
  /** Largest inbound WebSocket message in bytes (default 65536; close 1009 past it). */
  maxWebSocketPayloadBytes?: number;
  /**
   * Outbound backlog per connection in bytes (default 16 MiB; 0 = no cap). Past it a peer that
   * nobody is paused for (a user of owner traffic) is disconnected as `slow_reader`; a peer fed by
   * paused users (an owner) only past twice this (docs/limits.md, backpressure).
   */
  maxOutboundBytes?: number;
  /**
   * Backpressure: once a peer's backlog passes this many bytes, the users whose data was queued for
   * it are not read until it is back at `outboundLowWaterBytes` (default 512 KiB; 0 = off).
   */
  outboundHighWaterBytes?: number;
  /** Backpressure: paused senders are read again at or below this backlog in bytes (default 128 KiB). */
  outboundLowWaterBytes?: number;
  /**
   * Milliseconds a peer with unsent bytes may go without its socket taking any before it is
   * disconnected as `stalled` (default 30000; 0 = never).
   */
  stallTimeoutMs?: number;
  /** Inbound byte rate per connection, bytes/s (default 0 = unlimited). Past the bucket, `inboundPolicy` applies. */
  inboundBytesPerSec?: number;
  /** Inbound unit rate per connection (commands + frame pieces)/s (default 0 = unlimited). */
  inboundUnitsPerSec?: number;
  /** Token-bucket depth in seconds of rate (default 1). */
  inboundBurstSeconds?: number;
  /**
   * Past an inbound rate: `throttle` (default) stops reading that socket until its bucket has
   * recovered (TCP backpressure slows the sender); `disconnect` closes it with full cleanup.
   */
  inboundPolicy?: 'throttle' | 'disconnect';
  /** Enable the kick extension, cmd 4 (default false: cmd 4 is an unknown command, as on the original; joint.md §17). */
  kick?: boolean;
  /** Where logs go (default: JSON lines on stderr at `logLevel`). */
  logger?: Logger;
  /** Level of the default logger (default `info`; ignored with `logger`). */
  logLevel?: LogLevel;
  /** Serve Prometheus metrics on this port at `/metrics` (default: no endpoint; 0 = OS-chosen). */
  metricsPort?: number;
  /** Address of the metrics endpoint (default: `host`). */
  metricsHost?: string;
  /** On `close()`, milliseconds to wait for peers to finish closing before destroying them (default 1000). */
  closeGraceMs?: number;
  /**
   * Native engine: after a busy loop turn (4 KiB moved), wait this many microseconds before
   * polling again, so reads and writes carry more frames each; 0..10000 (default 500; 0 = never).
   * Costs up to this much latency per hop while busy; the Node engine ignores it.
   */
  batchDelayUs?: number;
  /**
   * Join a relay cluster over NATS (docs/cluster.md): `{ servers, nodeId?, name?, ...limits }`.
   * Joint ids are then unique across the cluster and any node's users can enter any node's joints.
   * Default: none (a single relay).
   */
  cluster?: ClusterOptions;
  /**
   * Which engine carries the bytes (issue 19): `native` (default) leaves sockets, parsing and
   * forwarding to the addon's I/O thread and keeps only commands and connection events in
   * JavaScript (less CPU per frame, more frames/s and a lower p99 in `npm run bench -- relay`);
   * `node` reads and writes the sockets in JavaScript. Where the native engine cannot run (no
   * addon, not Linux, an addon built before the engine) the Node engine runs and one debug line
   * says why; `relay.engine` tells which one runs.
   */
  engine?: RelayEngineKind;
}

/** The relay's engines (`RelayOptions.engine`). */
export type RelayEngineKind = 'native' | 'node';

/**
 * Every option `Relay.listen` knows (the `satisfies` keeps this list complete); anything else is
 * a TypeError: a misspelt limit must not pass silently as its default.
 */
const RELAY_OPTION_KEYS = Object.keys({
  host: true,
  port: true,
  websocket: true,
  loginTimeoutMs: true,
  keepaliveMs: true,
  maxConnectionsPerIp: true,
  maxConnections: true,
  idleTimeoutMs: true,
  maxOwnJoints: true,
  maxInJoints: true,
  maxUsersPerJoint: true,
  maxJoints: true,
  maxJointsPerIp: true,
  commandsPerSec: true,
  commandBurst: true,
  maxIdBytes: true,
  maxWebSocketPayloadBytes: true,
  maxOutboundBytes: true,
  outboundHighWaterBytes: true,
  outboundLowWaterBytes: true,
  stallTimeoutMs: true,
  inboundBytesPerSec: true,
  inboundUnitsPerSec: true,
  inboundBurstSeconds: true,
  inboundPolicy: true,
  kick: true,
  logger: true,
  logLevel: true,
  metricsPort: true,
  metricsHost: true,
  closeGraceMs: true,
  batchDelayUs: true,
  cluster: true,
  engine: true,
} satisfies Record<keyof RelayOptions, true>);

/** Options with every default filled in and checked. */
export interface ResolvedRelayOptions {
  host: string;
  port: number;
  websocket: boolean;
  loginTimeoutMs: number;
  keepaliveMs: number;
  maxConnectionsPerIp: number;
  maxConnections: number;
  idleTimeoutMs: number;
  maxOwnJoints: number;
  maxInJoints: number;
  maxUsersPerJoint: number;
  maxJoints: number;
  maxJointsPerIp: number;
  commandsPerSec: number;
  commandBurst: number;
  maxIdBytes: number;
  maxWebSocketPayloadBytes: number;
  maxOutboundBytes: number;
  outboundHighWaterBytes: number;
  outboundLowWaterBytes: number;
  stallTimeoutMs: number;
  inboundBytesPerSec: number;
  inboundUnitsPerSec: number;
  inboundBurstSeconds: number;
  inboundPolicy: 'throttle' | 'disconnect';
  kick: boolean;
  metricsPort: number | undefined;
  metricsHost: string;
  closeGraceMs: number;
  batchDelayUs: number;
  /**
   * The cluster options as given (checked by `Relay.listen`, which loads the NATS client only
   * then), or undefined for a single relay.
   */
  cluster: ClusterOptions | undefined;
  /** The engine asked for; `Relay.engine` is the one that runs. */
  engine: RelayEngineKind;
}

function int(name: string, value: unknown, fallback: number, min: number, max: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

function num(name: string, value: unknown, fallback: number, min: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new RangeError(`${name} must be a number >= ${min}, got ${String(v)}`);
  return v;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function policy(value: unknown): 'throttle' | 'disconnect' {
  if (value === undefined || value === 'throttle' || value === 'disconnect') return value ?? 'throttle';
  throw new RangeError(`inboundPolicy must be 'throttle' or 'disconnect', got ${String(value)}`);
}

function engineKind(value: unknown): RelayEngineKind {
  if (value === undefined) return 'native';
  if (typeof value !== 'string') throw new TypeError(`engine must be a string, 'native' or 'node', got ${typeof value}`);
  if (value === 'native' || value === 'node') return value;
  throw new RangeError(`engine must be 'native' or 'node', got ${JSON.stringify(value)}`);
}

/**
 * Fill in defaults and check ranges.
 * @throws {RangeError} naming the option and its bounds when one is out of range.
 * @throws {TypeError} when `host` or `engine` is not a string.
 */
export function resolveRelayOptions(options: RelayOptions = {}): ResolvedRelayOptions {
  rejectUnknownOptions('Relay.listen', options, RELAY_OPTION_KEYS);
  const host = options.host ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host.length === 0) throw new TypeError('host must be a non-empty string');
  const outboundHighWaterBytes = int('outboundHighWaterBytes', options.outboundHighWaterBytes, OUTBOUND_HIGH_WATER_BYTES, 0, Number.MAX_SAFE_INTEGER);
  const lowDefault = Math.min(OUTBOUND_LOW_WATER_BYTES, outboundHighWaterBytes);
  const outboundLowWaterBytes = int('outboundLowWaterBytes', options.outboundLowWaterBytes, lowDefault, 0, outboundHighWaterBytes);
  return {
    host,
    port: int('port', options.port, 0, 0, 65535),
    websocket: options.websocket ?? true,
    loginTimeoutMs: int('loginTimeoutMs', options.loginTimeoutMs, LOGIN_TIMEOUT_MS, 0, MAX_TIMER_MS),
    keepaliveMs: int('keepaliveMs', options.keepaliveMs, KEEPALIVE_MS, 0, MAX_TIMER_MS),
    maxConnectionsPerIp: int('maxConnectionsPerIp', options.maxConnectionsPerIp, MAX_CONNECTIONS_PER_IP, 0, 1 << 30),
    maxConnections: int('maxConnections', options.maxConnections, MAX_CONNECTIONS, 0, 1 << 30),
    idleTimeoutMs: int('idleTimeoutMs', options.idleTimeoutMs, IDLE_TIMEOUT_MS, 0, MAX_TIMER_MS),
    maxOwnJoints: int('maxOwnJoints', options.maxOwnJoints, MAX_OWN_JOINTS, 1, MAX_OWN_JOINTS),
    maxInJoints: int('maxInJoints', options.maxInJoints, MAX_IN_JOINTS, 1, MAX_IN_JOINTS),
    maxUsersPerJoint: int('maxUsersPerJoint', options.maxUsersPerJoint, MAX_USERS_PER_JOINT, 1, MAX_USERS_PER_JOINT),
    maxIdBytes: int('maxIdBytes', options.maxIdBytes, MAX_ID_BYTES, 0, MAX_ID_BYTES),
    maxJoints: int('maxJoints', options.maxJoints, MAX_JOINTS, 0, 1 << 30),
    maxJointsPerIp: int('maxJointsPerIp', options.maxJointsPerIp, MAX_JOINTS_PER_IP, 0, 1 << 30),
    commandsPerSec: num('commandsPerSec', options.commandsPerSec, COMMANDS_PER_SEC, 0),
    commandBurst: int('commandBurst', options.commandBurst, COMMAND_BURST_COUNT, 1, 1 << 30),
    maxWebSocketPayloadBytes: int('maxWebSocketPayloadBytes', options.maxWebSocketPayloadBytes, MAX_WEBSOCKET_PAYLOAD_BYTES, 1, 1 << 30),
    maxOutboundBytes: int('maxOutboundBytes', options.maxOutboundBytes, MAX_OUTBOUND_BYTES, 0, Number.MAX_SAFE_INTEGER),
    outboundHighWaterBytes,
    outboundLowWaterBytes,
    stallTimeoutMs: int('stallTimeoutMs', options.stallTimeoutMs, STALL_TIMEOUT_MS, 0, MAX_TIMER_MS),
    inboundBytesPerSec: num('inboundBytesPerSec', options.inboundBytesPerSec, 0, 0),
    inboundUnitsPerSec: num('inboundUnitsPerSec', options.inboundUnitsPerSec, 0, 0),
    inboundBurstSeconds: num('inboundBurstSeconds', options.inboundBurstSeconds, RATE_BURST_SECONDS, 0.001),
    inboundPolicy: policy(options.inboundPolicy),
    kick: options.kick ?? false,
    metricsPort: options.metricsPort === undefined ? undefined : int('metricsPort', options.metricsPort, 0, 0, 65535),
    metricsHost: options.metricsHost ?? host,
    closeGraceMs: int('closeGraceMs', options.closeGraceMs, CLOSE_GRACE_MS, 0, MAX_TIMER_MS),
    batchDelayUs: int('batchDelayUs', options.batchDelayUs, BATCH_DELAY_US, 0, MAX_BATCH_DELAY_US),
    cluster: options.cluster,
    engine: engineKind(options.engine),
  };
}

/** The CLI default port (the original's, joint.md §7). */
export { DEFAULT_PORT };
