/**
 * Where the native engine (issue 19) differs in timing from the Node engine. Admission: the
 * engine reports a connection (ACCEPT) at its first byte, so the connection caps refuse it then,
 * with no byte sent back, and count it as on the Node engine; a close frees the slot. (The Node
 * engine refuses at accept; test/relay/relay.test.ts checks that timing, and runs on both engines
 * but for those tests.) Shutdown: what the engine has queued toward a peer still reaches it.
 * Skipped, saying why, where the native engine cannot run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Relay, silentLogger, type RelayOptions } from '../../src/relay/index.js';
import { nativeEngineSupport } from '../../src/relay/engine/engine-choice.js';
import { TcpClient, closeAll, describeUnits, unitsOf } from './raw-client.js';
import { create } from './joint-commands.js';

const support = nativeEngineSupport();
const missing = typeof support === 'string' ? support : null;

let relay: Relay | undefined;
afterEach(async () => {
  closeAll();
  await relay?.close();
  relay = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(options: RelayOptions): Promise<Relay> {
  relay = await Relay.listen({ logger: silentLogger, engine: 'native', ...options });
  expect(relay.engine).toBe('native');
  return relay;
}

describe.skipIf(missing !== null)(`native engine admission${missing !== null ? ` [skipped: no native relay engine: ${missing}]` : ''}`, () => {
  for (const [cap, options, counter] of [
    ['per-IP', { maxConnectionsPerIp: 2 }, 'refusedPerIp'],
    ['total', { maxConnections: 2, maxConnectionsPerIp: 0 }, 'refusedTotal'],
  ] as const) {
    it(`refuses a connection past the ${cap} cap at its first byte, with no bytes, and frees the slot on a close`, async () => {
      const r = await start(options);
      const a = await TcpClient.connect(r.port);
      const b = await TcpClient.connect(r.port);
      expect(await create(a, 'a')).toEqual([0, 0]);
      expect(await create(b, 'b')).toEqual([0, 0]);
      const c = await TcpClient.connect(r.port);
      c.send('00 00 01 01 63'); // create "c": never run
      expect(await c.waitClosed(1000)).toBe(true);
      expect(c.total).toBe(0);
      expect(r.stats()[counter]).toBe(1);
      expect(r.stats()).toMatchObject({ connections: 2, accepted: 2, joints: 2 });
      a.destroy();
      for (let i = 0; i < 100 && r.stats().connections > 1; i++) await sleep(10);
      const d = await TcpClient.connect(r.port);
      expect(await create(d, 'd')).toEqual([0, 0]);
      expect(r.stats()).toMatchObject({ connections: 2, accepted: 3, joints: 2 });
    });
  }

  it('sends what a closing relay owes before its connections end', async () => {
    const r = await start({});
    const owner = await TcpClient.connect(r.port);
    const user = await TcpClient.connect(r.port);
    expect(await create(owner, 'j')).toEqual([0, 0]);
    user.send('00 01 01 01 6a');
    await user.read(5);
    await owner.read(6);
    // 16 full frames toward a user that is not reading, then the close.
    user.socket.pause();
    const frame = Buffer.concat([Buffer.from('ffff8000', 'hex'), Buffer.alloc(32765, 9)]);
    owner.send(Buffer.concat(Array.from({ length: 16 }, () => frame)));
    for (let i = 0; i < 200 && r.stats().framesIn < 2 + 16; i++) await sleep(10);
    expect(r.stats().framesIn).toBe(2 + 16);
    await r.close();
    user.socket.resume();
    // Forwarded as it was read (a frame read in two pieces leaves as two), so count the data.
    expect(await user.waitClosed(3000)).toBe(true);
    const units = unitsOf(user.takeAll());
    // Then the owner's close (it went first) ends the joint for the user: inDisconnect(1), as on the Node engine.
    expect(describeUnits(units.filter((u) => !(u.kind === 'data' && u.a === 0 && u.data.every((b) => b === 9))))).toEqual(['control 00 04 00 02 00 01']);
    expect(units.at(-1)).toEqual({ kind: 'control', hex: '00 04 00 02 00 01' });
    expect(units.reduce((n, u) => n + (u.kind === 'data' ? u.data.length : 0), 0)).toBe(16 * 32765);
    expect(await user.waitClosed(2000)).toBe(true);
  });
});
