/**
 * What the mm Client needs from its platform: the wire platform (crypto, parsers), an EventRing
 * and a way to open a ByteStream. The entries set it: `index.ts` for Node, `browser.ts` for
 * browsers. This file imports no Node built-in.
 */
import type { EventRing, EventRingOptions } from '../core/types.js';
import type { ByteStream } from '../transport/types.js';
import type { ConnectOptions, WirePlatform } from '../platform/types.js';

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
