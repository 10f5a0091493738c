/**
 * The native engine's control plane (src/relay/engine/, issue 19) against an in-process fake of
 * the addon's RelayEngine: admission at ACCEPT, the relay's own commands with the routing table
 * kept in step, replies sent before the connection is resumed, the drop's cleanup at CLOSED, the
 * stats read from the engine, and shutdown. The data plane itself is the addon's and is tested by
 * the relay suites, which run on the native engine by default (vitest.config.ts, project main).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Relay, silentLogger, DisconnectReason, type RelayOptions } from '../../src/relay/index.js';
import { RELAY_ENGINE_REASONS } from '../../src/relay/engine/binding.js';
import { FakeRelayEngine } from './engine-fake.js';

vi.mock('../../src/relay/engine/engine-choice.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/relay/engine/engine-choice.js')>();
  const { FakeRelayEngine: Fake } = await import('./engine-fake.js');
  return {
    ...original,
    chooseEngine: (o: { engine: string }) => (o.engine === 'native' ? { kind: 'native', native: { Engine: Fake, statNames: Fake.statsNames } } : original.chooseEngine(o as never)),
  };
});

let relay: Relay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

async function start(options: RelayOptions = {}): Promise<{ r: Relay; e: FakeRelayEngine }> {
  relay = await Relay.listen({ logger: silentLogger, engine: 'native', closeGraceMs: 50, ...options });
  const e = FakeRelayEngine.made.at(-1)!;
  e.take();
  return { r: relay, e };
}

const accept = (conn: number, ip = '127.0.0.1') => ({ type: 'accept' as const, conn, a: 0, b: 5000 + conn, bytes: ip });
const command = (conn: number, cmd: number, cmdNr: number, payload: string) => ({ type: 'command' as const, conn, a: cmd, b: cmdNr, bytes: Buffer.from(payload, 'hex') });
const closed = (conn: number, reason: (typeof RELAY_ENGINE_REASONS)[number], detail = '') => ({ type: 'closed' as const, conn, a: RELAY_ENGINE_REASONS.indexOf(reason), bytes: detail });
const SHUTDOWN = RELAY_ENGINE_REASONS.indexOf('shutdown');

describe('native engine control plane (fake engine)', () => {
  it('runs the native engine when asked, passing the options through', async () => {
    const { r, e } = await start({ inboundPolicy: 'disconnect', keepaliveMs: 123, maxOutboundBytes: 4096 });
    expect(r.engine).toBe('native');
    expect(r.port).toBe(40_000 + FakeRelayEngine.made.length);
    expect(e.config).toMatchObject({ host: '127.0.0.1', port: 0, websocket: true, keepaliveMs: 123, maxOutboundBytes: 4096, inboundPolicy: 1 });
  });

  it('admits an ACCEPT within the caps and closes the others without a connection', async () => {
    const { r, e } = await start({ maxConnectionsPerIp: 1, maxConnections: 2 });
    e.emit([accept(1), accept(2), accept(3, '10.0.0.1'), accept(4, '10.0.0.2')]);
    expect(e.take()).toEqual([['admit', 1], ['close', 2, SHUTDOWN], ['admit', 3], ['close', 4, SHUTDOWN]]);
    expect(r.stats()).toMatchObject({ connections: 2, accepted: 2, refusedPerIp: 1, refusedTotal: 1 });
    // A close frees both slots.
    e.emit([closed(1, 'peer_closed'), accept(5, '::ffff:127.0.0.1')]);
    expect(e.take()).toEqual([['admit', 5]]);
    expect(r.stats().disconnects.peer_closed).toBe(1);
  });

  it('runs commands: the routing table changes before the replies go out, and the connection resumes after them', async () => {
    const { r, e } = await start();
    e.emit([accept(1), accept(2)]);
    e.take();
    e.emit([command(1, 0, 1, '6a')]); // owner: create "j"
    expect(e.take()).toEqual([['own', 1, 0, true], ['send', 1, '0003010000'], ['resume', 1]]);
    e.emit([command(2, 1, 7, '6a')]); // user: enter "j"
    expect(e.take()).toEqual([['enter', 2, 0, 1, 0, 0], ['send', 2, '0003070000'], ['send', 1, '000400000000'], ['resume', 2]]);
    expect(r.stats()).toMatchObject({ joints: 1, users: 1 });
    e.emit([command(2, 2, 0, '00')]); // leave jIn 0
    expect(e.take()).toEqual([['leave', 2, 0], ['send', 1, '00050001000000'], ['resume', 2]]);
    e.emit([command(2, 1, 0, '6a'), command(1, 3, 0, '00')]); // enter again, then the owner deletes
    expect(e.take()).toEqual([['enter', 2, 0, 1, 0, 0], ['leave', 2, 0], ['own', 1, 0, false], ['send', 1, '000400000000'], ['send', 2, '000400020000'], ['resume', 2], ['resume', 1]]);
  });

  it('sends each unit to a WebSocket connection as its own send (one message each)', async () => {
    const { e } = await start();
    e.emit([{ ...accept(1), a: 1 }]);
    e.take();
    e.emit([command(1, 0, 1, '61')]);
    e.emit([command(1, 0, 2, '62')]);
    expect(e.take().filter((c) => c[0] === 'send')).toEqual([['send', 1, '0003010000'], ['send', 1, '0003020001']]);
  });

  it('on CLOSED runs the drop: peers hear of it, stats count the reason, the connection is not closed again', async () => {
    const { r, e } = await start();
    e.emit([accept(1), accept(2), command(1, 0, 1, '6a')]);
    e.emit([command(2, 1, 1, '6a')]);
    e.take();
    e.emit([closed(1, 'slow_reader', '9999 bytes unsent')]);
    // The user hears inDisconnect(1); the engine is not asked to close what it closed.
    expect(e.take()).toEqual([['leave', 2, 0], ['send', 2, '000400020001']]);
    expect(r.stats()).toMatchObject({ connections: 1, joints: 0, users: 0 });
    expect(r.stats().disconnects[DisconnectReason.SlowReader]).toBe(1);
    // Late events of the closed connection are ignored.
    e.emit([command(1, 0, 2, '6b'), closed(1, 'socket_error')]);
    expect(e.take()).toEqual([]);
  });

  it('drops a connection past its command budget through the engine, with the reason', async () => {
    const { r, e } = await start({ commandsPerSec: 1, commandBurst: 1 });
    e.emit([accept(1)]);
    e.emit([command(1, 2, 0, '00')]);
    e.emit([command(1, 2, 0, '00')]);
    e.emit([command(1, 2, 0, '00')]);
    expect(e.take().slice(-1)).toEqual([['close', 1, RELAY_ENGINE_REASONS.indexOf('rate_limit')]]);
    expect(r.stats().disconnects.rate_limit).toBe(1);
    expect(r.stats().connections).toBe(0);
  });

  it('reads the data-plane counters from the engine, the rest from the control plane', async () => {
    const { r, e } = await start();
    e.emit([accept(1), command(1, 0, 1, '6a')]);
    Object.assign(e.counters, { bytesIn: 1000, bytesOut: 2000, framesIn: 30, framesOut: 40, drops: 5, throttled: 6, backpressured: 7, backpressuredNow: 1, backlogBytes: 512, pendingConnections: 3 });
    expect(r.stats()).toMatchObject({
      connections: 1,
      accepted: 1,
      bytesIn: 1000,
      bytesOut: 2000,
      framesIn: 30,
      framesOut: 40, // the engine counts the replies it was given to send
      drops: 5,
      throttled: 6,
      backpressured: 7,
      backpressuredNow: 1,
      backlogBytes: 512,
      pendingConnections: 3,
      joints: 1,
    });
  });

  it('close() closes every connection with a flush, then stops the engine; later events are ignored', async () => {
    const { r, e } = await start();
    e.emit([accept(1), accept(2)]);
    e.take();
    await r.close();
    expect(e.take()).toEqual([['close', 1, SHUTDOWN], ['close', 2, SHUTDOWN], ['stop']]);
    expect(r.stats().disconnects.shutdown).toBe(2);
    e.emit([accept(3)]);
    expect(e.take()).toEqual([]);
  });

  it('rejects with the relay listen error when the engine cannot bind', async () => {
    FakeRelayEngine.listenError = Object.assign(new Error('bind failed'), { code: 'EADDRINUSE' });
    await expect(Relay.listen({ logger: silentLogger, engine: 'native', port: 7 })).rejects.toMatchObject({ code: 'EADDRINUSE', message: 'relay cannot listen on 127.0.0.1:7: address already in use (EADDRINUSE)' });
    expect(FakeRelayEngine.made.at(-1)!.stopped).toBe(true);
  });

  it('ignores events of a connection it never admitted and logs no error', async () => {
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (msg: string) => errors.push(msg) };
    const { e } = await start({ logger });
    e.emit([accept(1)]);
    e.take();
    // A connection id the control plane never admitted: ignored, no throw.
    e.emit([command(99, 0, 1, '6a'), command(1, 0, 1, '6a')]);
    expect(e.take()).toEqual([['own', 1, 0, true], ['send', 1, '0003010000'], ['resume', 1]]);
    expect(errors).toEqual([]);
  });

  it('logs a failing call and goes on with the batch, the flush and the resumes', async () => {
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (msg: string) => errors.push(msg) };
    const { e } = await start({ logger });
    e.failing = 'admit';
    e.emit([accept(1), accept(2)]);
    expect(e.take()).toEqual([['admit', 1], ['admit', 2]]);
    expect(errors).toEqual(['native engine event failed', 'native engine event failed']);
    e.failing = 'send';
    e.emit([command(1, 0, 1, '61'), command(2, 0, 1, '62')]);
    expect(e.take()).toEqual([['own', 1, 0, true], ['own', 2, 0, true], ['send', 1, '0003010000'], ['resume', 1], ['resume', 2]]);
    expect(errors.slice(2)).toEqual(['native engine flush failed']);
    e.failing = null;
  });
});
