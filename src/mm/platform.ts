/**
 * What the mm Client needs from its platform: the wire platform (crypto, parsers), an EventRing
 * and a way to open a ByteStream. The entries set it: `index.ts` for Node, `browser.ts` for
 * browsers. This file imports no Node built-in.
 */
import type { EventRing, EventRingOptions } from '../core/types.js';
import type { ByteStream } from '../transport/types.js';
import type { WirePlatform } from '../wire/platform.js';

/** How a Client reaches its server. */
export interface ConnectOptions {
  /** 'tcp' (Node default) or 'websocket' (the only one in browsers). */
  transport?: 'tcp' | 'websocket';
  /** A full ws:// or wss:// URL; overrides address and port for WebSocket. */
  url?: string;
  /** Milliseconds to wait for the connection. */
  timeoutMs: number;
}

/** The platform seam of the mm style. */
export interface MmPlatform {
  readonly name: 'node' | 'browser';
  readonly wire: WirePlatform;
  eventRing(options?: EventRingOptions): EventRing;
  connect(address: string, port: number, options: ConnectOptions): Promise<ByteStream>;
}

let current: MmPlatform | null = null;

/** Install the platform (done by the entry module). */
export function setMmPlatform(platform: MmPlatform): void {
  current = platform;
}

/** The installed platform. @throws Error when no entry installed one */
export function mmPlatform(): MmPlatform {
  if (current === null) throw new Error("gamewire mm: no platform installed; import from 'gamewire/mm' (Node) or 'gamewire/browser'");
  return current;
}

/** The WebSocket URL for an address and port (IPv6 literals bracketed). */
export function webSocketUrl(address: string, port: number, secure = false): string {
  if (/^wss?:\/\//.test(address)) return address;
  const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
  return `${secure ? 'wss' : 'ws'}://${host}:${port}/`;
}
