/**
 * The null driver (src/bench/null-driver.ts) driven by hand: it copies what it is sent, delivers
 * it on the next turn to `fanout` distinct receivers, and injects exactly the faults asked for.
 */
import { describe, expect, it } from 'vitest';
import { nullDriver, resolveOptions, type BenchDriver, type NullDriverOptions } from '../../src/bench/index.js';

const OPTIONS = resolveOptions({ kind: 'relay', host: '127.0.0.1', port: 1, users: 3, joints: 2 });

async function open(options: NullDriverOptions, worker = 0, workers = 0) {
  const driver: BenchDriver = nullDriver(options)({ options: OPTIONS, worker, workers, senderBase: 0 });
  const got: Array<[number[], number]> = [];
  const errors: string[] = [];
  driver.deliver = (payload, receiver) => got.push([[...payload], receiver]);
  driver.fail = (e) => errors.push(e.message);
  await driver.open();
  return { driver, got, errors };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('null driver', () => {
  it('opens users x joints senders, shared over workers', async () => {
    expect((await open({})).driver.senders).toBe(6);
    expect((await open({}, 0, 4)).driver.senders).toBe(2);
    expect((await open({}, 3, 4)).driver.senders).toBe(1);
  });

  it('delivers a copy on the next turn to fanout distinct receivers', async () => {
    const { driver, got } = await open({ fanout: 3 });
    const payload = Uint8Array.of(1, 2, 3);
    expect(driver.copiesPayload).toBe(true);
    expect(driver.send(1, payload)).toBe(true);
    payload[0] = 9;
    expect(got).toEqual([]);
    await turn();
    expect(got).toEqual([[[1, 2, 3], 3], [[1, 2, 3], 4], [[1, 2, 3], 5]]);
    await driver.close();
  });

  it('drops, corrupts, duplicates and reorders the frames asked for', async () => {
    const { driver, got, errors } = await open({ dropEvery: 2, failEvery: 3 });
    for (let i = 0; i < 4; i++) driver.send(0, Uint8Array.of(i));
    await turn();
    expect(got.map(([p]) => p[0])).toEqual([0, 2]);
    expect(errors).toEqual(['null driver: injected error']);
    const reorder = await open({ reorderEvery: 2, duplicateEvery: 3, corruptEvery: 5 });
    for (let i = 0; i < 5; i++) reorder.driver.send(0, Uint8Array.of(i, 0));
    await turn();
    // 2nd held until after the 3rd (sent twice), 4th held until after the 5th (last byte flipped).
    expect(reorder.got.map(([p]) => p)).toEqual([[0, 0], [2, 0], [2, 0], [1, 0], [4, 0x40], [3, 0]]);
  });

  it('holds deliveries during a stall, and refuses sends meanwhile when asked', async () => {
    const { driver, got } = await open({ stall: { everyMs: 10_000, forMs: 80, refuse: false } });
    expect(driver.send(0, Uint8Array.of(1))).toBe(true);
    await turn();
    expect(got).toEqual([]);
    await new Promise((r) => setTimeout(r, 120));
    expect(got.length).toBe(1);
    const refusing = await open({ stall: { everyMs: 10_000, forMs: 80, refuse: true } });
    expect(refusing.driver.send(0, Uint8Array.of(1))).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(refusing.driver.send(0, Uint8Array.of(1))).toBe(true);
  });

  it('rejects open() with the injected error, and refuses sends once closed', async () => {
    await expect(open({ openError: 'nope' })).rejects.toThrow('nope');
    const { driver } = await open({});
    await driver.close();
    expect(driver.send(0, Uint8Array.of(1))).toBe(false);
  });
});
