import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { webSocketUrl } from '../../src/platform/connect.js';

describe('the browser entry', () => {
  it('bundles for browsers without any Node import', async () => {
    const entry = fileURLToPath(new URL('../../src/peote/browser.ts', import.meta.url));
    const result = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent', metafile: true });
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs.some((p) => p.includes('tcp-stream') || p.includes('core/load') || p.includes('core/index'))).toBe(false);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/from\s*["']node:/);
    expect(code).toContain('PeoteServer');
  });

  it('builds WebSocket URLs from host and port', () => {
    expect(webSocketUrl('example.org', 7680)).toBe('ws://example.org:7680/');
    expect(webSocketUrl('wss://example.org', 443)).toBe('wss://example.org:443/');
    expect(webSocketUrl('::1', 7680)).toBe('ws://[::1]:7680/');
  });
});
