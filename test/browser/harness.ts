/**
 * Shared plumbing of the browser suites: Debian's Chromium driven by playwright-core (never a
 * browser download), the bundle built on demand, and a tiny static server on 127.0.0.1:0.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants as fsConstants, createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The package root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the bundle is built (scripts/build-browser.mjs). */
export const BUNDLE_DIR = join(ROOT, 'dist', 'browser');
/** Test pages served next to the bundle. */
export const PAGES_DIR = join(ROOT, 'test', 'browser', 'pages');
/** Screenshots and other outputs kept by the browser tests. */
export const ARTIFACTS_DIR = join(ROOT, 'test', 'artifacts');

/** Debian's chromium, or the binary named by GAMEWIRE_CHROMIUM. */
export const CHROMIUM_PATH = process.env.GAMEWIRE_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a headless Chromium in a container: no sandbox, no GPU, no phoning home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

function executable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** True when Chromium can be launched; the browser suites are skipped otherwise. */
export const HAS_CHROMIUM = executable(CHROMIUM_PATH);

/**
 * Appended to each browser suite's title, so a skipped suite says why in vitest's summary
 * (`↓ the bundle in Chromium [skipped: no Chromium at …]`), not only in the warning above.
 */
export const CHROMIUM_SKIP_REASON = HAS_CHROMIUM ? '' : ` [skipped: no Chromium at ${CHROMIUM_PATH}; bash scripts/install-chromium.sh or set GAMEWIRE_CHROMIUM]`;

if (!HAS_CHROMIUM) {
  // Loud on purpose: a skipped browser suite must not pass unnoticed.
  console.warn(
    [
      '',
      '#'.repeat(78),
      `# gamewire BROWSER TESTS SKIPPED: no Chromium at ${CHROMIUM_PATH}`,
      '# Install Debian\'s chromium with:  bash scripts/install-chromium.sh',
      '#   (runs `apt-get install -y chromium`; .ci/run does this before `npm test`)',
      '# or point GAMEWIRE_CHROMIUM at another Chromium binary.',
      '#'.repeat(78),
      '',
    ].join('\n'),
  );
}

/** Build dist/browser/gamewire.js when it is missing or older than a source under src/. */
export function ensureBrowserBundle(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-browser.mjs'), '--check'], { cwd: ROOT, stdio: 'pipe' });
}

/** Launch Debian's Chromium headless. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, timeout: 15_000 });
}

/**
 * Collect a page's console errors and uncaught exceptions, so a failing test shows what the
 * page saw. Returns the live list.
 */
export function watchPage(page: Page, label: string): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`[${label}] uncaught: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`[${label}] console.error: ${msg.text()}`);
  });
  return problems;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

/** A static HTTP server bound to 127.0.0.1 on an OS-chosen port. */
export interface StaticServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serve files from directories: each request path is looked up in `mounts` in order (the URL
 * path relative to the mount's prefix, inside its directory, never above it); `/` serves
 * `index.html`. GET and HEAD only; nothing is cached.
 */
export function serveStatic(mounts: ReadonlyArray<{ prefix: string; dir: string }>): Promise<StaticServer> {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path.endsWith('/')) path += 'index.html';
    for (const { prefix, dir } of mounts) {
      if (!path.startsWith(prefix)) continue;
      const file = resolve(dir, '.' + path.slice(prefix.length - (prefix.endsWith('/') ? 1 : 0)));
      if (file !== dir && !file.startsWith(dir + sep)) continue;
      try {
        if (!statSync(file).isFile()) continue;
      } catch {
        continue;
      }
      res.writeHead(200, {
        'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
      });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      done({
        url: `http://127.0.0.1:${port}`,
        port,
        close: () =>
          new Promise<void>((closed) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => closed());
          }),
      });
    });
  });
}

/** Serve the bundle at `/gamewire.js` and the test pages at `/`. */
export function serveBundleAndPages(): Promise<StaticServer> {
  return serveStatic([
    { prefix: '/', dir: BUNDLE_DIR },
    { prefix: '/', dir: PAGES_DIR },
  ]);
}

/**
 * Open the harness page, which imports the bundle and exposes it as `window.gamewire`.
 * Returns once the module has loaded (or throws with the page's error).
 */
export async function openHarness(browser: Browser, server: StaticServer, label = 'page'): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems = watchPage(page, label);
  await page.goto(`${server.url}/harness.html`);
  await page.waitForFunction(() => (window as unknown as { gamewireReady?: boolean }).gamewireReady === true, undefined, { timeout: 10_000 }).catch((err: Error) => {
    throw new Error(`harness page did not load the bundle: ${err.message}\n${problems.join('\n')}`);
  });
  return { page, problems };
}

/**
 * A seeded pseudo-random byte source (xorshift32), written the same way in the test pages so
 * both sides of a connection can generate and check the same chunks.
 */
export function seededBytes(seed: number): (length: number) => Uint8Array {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return (length: number) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = next() & 0xff;
    return out;
  };
}
