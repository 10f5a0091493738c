/**
 * gamewire/browser: the browser-safe part of gamewire, bundled by scripts/build-browser.mjs into
 * dist/browser/gamewire.js (an ES module with no Node built-ins and no addon; the build fails if
 * either is reachable from here).
 *
 * - The peote API (`PeoteServer`, `PeoteClient`, `PeoteBytesOutput`, `PeoteBytesInput`, `Reason`,
 *   the RPC helpers), reaching `gamewire relay` over its WebSocket path (joint.md §9).
 * - The MM style's `Client`, `pollEvents` and `EventType` (and the `network` compat namespace),
 *   reaching an MM `Server` over WebSocket on the server's port, encrypted with WebCrypto.
 *
 * ```html
 * <script type="module">
 *   import { PeoteClient } from './gamewire.js';
 *   const client = new PeoteClient({ onDataChunk: (c, chunk) => console.log(chunk.length) });
 *   client.enter(location.hostname, 7680, 'lobby');
 * </script>
 * ```
 */
export * from '../peote/browser.js';
export * from '../mm/browser.js';
