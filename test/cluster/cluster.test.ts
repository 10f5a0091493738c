/**
 * The Cluster's options: defaults from src/cluster/limits.ts, unknown or bad options refused
 * with a TypeError/RangeError naming them, inconsistent pairs refused; node ids checked.
 */
import { describe, expect, it } from 'vitest';
import { checkNodeId, generateNodeId, HEARTBEAT_MS, LINK_MAX_BATCH_BYTES, NATS_GRACE_MS, nextEpoch, PEER_TIMEOUT_MS, resolveClusterOptions } from '../../src/cluster/index.js';

describe('cluster options', () => {
  it('fills in the defaults, within the issue bound of 3 s for detection', () => {
    const o = resolveClusterOptions({ servers: 'nats://127.0.0.1:4222', nodeId: 'n1' });
    expect(o).toMatchObject({ servers: ['nats://127.0.0.1:4222'], nodeId: 'n1', name: 'gamewire', heartbeatMs: HEARTBEAT_MS, peerTimeoutMs: PEER_TIMEOUT_MS, natsGraceMs: NATS_GRACE_MS, linkMaxBatchBytes: LINK_MAX_BATCH_BYTES });
    expect(PEER_TIMEOUT_MS + o.membershipCheckMs).toBeLessThanOrEqual(3000);
    expect(NATS_GRACE_MS).toBeLessThan(PEER_TIMEOUT_MS);
    expect(resolveClusterOptions({ servers: ['nats://x:1'] }).nodeId).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });

  it('refuses unknown options, missing servers and bad node ids with a TypeError naming them', () => {
    expect(() => resolveClusterOptions({ servers: 'nats://x:1', peerTimeout: 5 } as never)).toThrow(/peerTimeout/);
    expect(() => resolveClusterOptions({ servers: 'nats://x:1', peerTimeout: 5 } as never)).toThrow(TypeError);
    expect(() => resolveClusterOptions({ servers: [] })).toThrow(/servers/);
    expect(() => resolveClusterOptions({ servers: 'nats://x:1', nodeId: 'a.b' })).toThrow(/nodeId/);
    expect(() => resolveClusterOptions({ servers: 'nats://x:1', nodeId: '' })).toThrow(TypeError);
    expect(() => resolveClusterOptions({ servers: 'nats://x:1', nodeId: 'x'.repeat(65) })).toThrow(TypeError);
    expect(() => resolveClusterOptions({ servers: 'nats://x:1', name: 'a b' })).toThrow(/name/);
  });

  it('refuses numbers out of range and inconsistent pairs with a RangeError naming them', () => {
    expect(() => resolveClusterOptions({ servers: 'nats://x:1', heartbeatMs: 1.5 })).toThrow(/heartbeatMs/);
    expect(() => resolveClusterOptions({ servers: 'nats://x:1', linkWindowBytes: -1 })).toThrow(RangeError);
    expect(() => resolveClusterOptions({ servers: 'nats://x:1', heartbeatMs: 1000, peerTimeoutMs: 1000 })).toThrow(/heartbeatMs.*peerTimeoutMs/);
    expect(() => resolveClusterOptions({ servers: 'nats://x:1', natsGraceMs: 2500 })).toThrow(/natsGraceMs/);
    expect(() => resolveClusterOptions({ servers: 'nats://x:1', linkLowWaterBytes: 4 << 20 })).toThrow(/linkLowWaterBytes/);
    expect(() => resolveClusterOptions({ servers: 'nats://x:1', linkMaxBatchBytes: 2 << 20 })).toThrow(/linkMaxBatchBytes/);
  });

  it('makes node ids and strictly increasing epochs', () => {
    expect(checkNodeId(generateNodeId())).toBeTruthy();
    const a = nextEpoch();
    const b = nextEpoch();
    expect(b).toBeGreaterThan(a);
  });
});
