/**
 * The native relay engine's lifetime at the edges (issue 19), each in a child process so a crash
 * cannot hide: engines dropped and garbage-collected in every state, process.exit() with an
 * engine running and a client connected, and a worker thread terminated while its engine runs
 * (the env cleanup hook stops the I/O thread before Node tears its ThreadSafeFunction down).
 * Skips (loudly) without the native engine.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { addonFile } from '../../src/core/load.js';
import { SKIP_REASON } from './harness.js';

const CONFIG = `{ host: '127.0.0.1', port: 0, websocket: true, maxWebSocketPayloadBytes: 65536, loginTimeoutMs: 5000, idleTimeoutMs: 0, stallTimeoutMs: 30000, keepaliveMs: 5000, maxOutboundBytes: 1 << 24, outboundHighWaterBytes: 1 << 19, outboundLowWaterBytes: 1 << 17, inboundBytesPerSec: 0, inboundUnitsPerSec: 0, inboundBurstSeconds: 1, inboundPolicy: 0 }`;

function run(script: string, args: string[] = []): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [...args, '-e', script], { encoding: 'utf8', timeout: 15_000, env: { ...process.env, GAMEWIRE_ADDON: addonFile() ?? '' } });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe.skipIf(SKIP_REASON !== null)(`native relay engine: lifetime${SKIP_REASON ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  it('engines dropped unstarted, listening, or stopped are collected without a crash', () => {
    const r = run(
      `const { RelayEngine } = require(process.env.GAMEWIRE_ADDON);
       for (let i = 0; i < 30; i++) {
         const e = new RelayEngine(${CONFIG}, () => {});
         if (i % 3 >= 1) e.listen();
         if (i % 3 === 2) { e.start(); e.stop(); }
       }
       for (let i = 0; i < 5; i++) global.gc();
       setTimeout(() => { global.gc(); console.log('ok'); }, 50);`,
      ['--expose-gc'],
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
    expect(r.status).toBe(0);
  });

  it('process.exit() with an engine running and a client connected exits cleanly', () => {
    const r = run(
      `const { RelayEngine } = require(process.env.GAMEWIRE_ADDON);
       const net = require('node:net');
       const e = new RelayEngine(${CONFIG}, (records, count) => {
         if (records[0] === 1) { e.admit(records[1]); setTimeout(() => process.exit(0), 20); }
       });
       const port = e.listen();
       e.start();
       const s = net.connect(port, '127.0.0.1', () => s.write(Buffer.of(0, 0, 1, 1, 65)));
       s.on('error', () => {});`,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('a worker terminated while its engine runs leaves the process healthy', () => {
    const r = run(
      `const { Worker } = require('node:worker_threads');
       const w = new Worker(\`
         const { RelayEngine } = require(process.env.GAMEWIRE_ADDON);
         const { parentPort } = require('node:worker_threads');
         const e = new RelayEngine(${CONFIG}, () => {});
         parentPort.postMessage(e.listen());
         e.start();
       \`, { eval: true });
       w.on('message', (port) => {
         const s = require('node:net').connect(port, '127.0.0.1', () => {
           s.write(Buffer.of(0, 0, 1, 0));
           setTimeout(() => w.terminate().then(() => { s.destroy(); console.log('ok'); }), 50);
         });
         s.on('error', () => {});
       });`,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
    expect(r.status).toBe(0);
  });
});
