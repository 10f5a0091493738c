/**
 * Choosing the relay's engine (issue 19): `Relay.listen({ engine })` and `gamewire relay --engine`,
 * checked like every option; 'native' runs the addon's engine where it can and otherwise the Node
 * engine with one debug line saying why; `relay.engine` tells which one runs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { Relay, resolveRelayOptions, silentLogger, type LogFields } from '../../src/relay/index.js';
import { chooseEngine, nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';
import { CLI_NODE_ARGS, ROOT, startRelayProcess } from './cli-process.js';
import { TcpClient, closeAll } from './raw-client.js';
import { create } from './joint-commands.js';

const support = nativeEngineSupport();
const children: ChildProcess[] = [];
let relay: Relay | undefined;
afterEach(async () => {
  closeAll();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await relay?.close();
  relay = undefined;
});

describe('the engine option', () => {
  it(`defaults to the native engine where it can run, else the Node engine (here: ${typeof support === 'string' ? 'node' : 'native'})`, async () => {
    relay = await Relay.listen({ logger: silentLogger });
    expect(relay.options.engine).toBe('native');
    expect(relay.engine).toBe(typeof support === 'string' ? 'node' : 'native');
  });

  it('refuses anything but native or node, naming the option', async () => {
    await expect(Relay.listen({ engine: 'fast' as 'node' })).rejects.toThrow(RangeError);
    await expect(Relay.listen({ engine: 'fast' as 'node' })).rejects.toThrow(/engine must be 'native' or 'node'/);
    await expect(Relay.listen({ engine: 1 as unknown as 'node' })).rejects.toThrow(TypeError);
    await expect(Relay.listen({ engine: 1 as unknown as 'node' })).rejects.toThrow(/^engine must be a string/);
  });

  // Here: the engine's reason for running node, if any ('native' asked for with the defaults).
  const expected = chooseEngine(resolveRelayOptions({ engine: 'native' }));

  it(`runs the native engine where it can, else the Node engine with one debug line (here: ${expected.why ?? 'native'})`, async () => {
    const lines: { msg: string; fields?: LogFields }[] = [];
    const logger = { ...silentLogger, debug: (msg: string, fields?: LogFields) => lines.push({ msg, fields }) };
    relay = await Relay.listen({ logger, engine: 'native' });
    const why = lines.filter((l) => l.msg.startsWith('native relay engine unavailable'));
    expect(relay.engine).toBe(expected.kind);
    if (expected.why !== undefined) expect(why).toEqual([{ msg: 'native relay engine unavailable: running the node engine', fields: { why: expected.why } }]);
    else expect(why).toEqual([]);
    // Either way it serves.
    const c = await TcpClient.connect(relay.port);
    expect(await create(c, 'j')).toEqual([0, 0]);
  });

  it('runs the cluster on the native engine when the addon has remote routes, else says why', () => {
    const choice = chooseEngine(resolveRelayOptions({ engine: 'native', cluster: { servers: 'nats://127.0.0.1:1' } }));
    const support = nativeEngineSupport();
    if (typeof support !== 'string' && support.Engine.remote === true) {
      expect(choice.kind).toBe('native');
    } else {
      expect(choice.kind).toBe('node');
      expect(choice.why).toBeDefined();
    }
    // The Node engine asked for: never a reason to give.
    expect(chooseEngine(resolveRelayOptions({ engine: 'node' }))).toEqual({ kind: 'node' });
  });
});

describe('gamewire relay --engine', () => {
  it('starts the engine asked for, or says at debug level why the Node engine runs', async () => {
    const p = await startRelayProcess(['--engine', 'native', '--log-level', 'debug'], children, 10_000);
    const logged = p.lines.map((l) => JSON.parse(l) as { msg: string; engine?: string; why?: string });
    const engine = logged.find((l) => l.msg === 'relay listening')?.engine;
    const why = logged.filter((l) => l.msg === 'native relay engine unavailable: running the node engine');
    // Decided in the child (its addon may differ from this process's while the addon is rebuilt).
    if (engine === 'native') expect(why).toEqual([]);
    else {
      expect(engine).toBe('node');
      expect(why.length).toBe(1);
      expect(why[0]!.why).toMatch(/.+/);
    }
  });

  it('refuses an unknown engine with exit code 2 and the usage', () => {
    const out = spawnSync(process.execPath, [...CLI_NODE_ARGS, 'relay', '--engine', 'fast'], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('--engine must be native or node');
    expect(out.stderr).toContain('--engine <e>');
  });
});
