/**
 * The dots example's Node side: the gamewire relay, the owner of the "gamewire-dots" joint
 * (it keeps every dot and tells every tab), and a static server for the page and the bundle.
 * `serve.ts` runs it from the command line; the browser test starts it on OS-chosen ports.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PeoteBytesInput, PeoteBytesOutput, PeoteServer, Reason } from '../../src/peote/index.js';
import { Relay } from '../../src/relay/index.js';
import { DOT, GONE, HEIGHT, JOINT_ID, MOVE, WELCOME, WIDTH, clampX, clampY } from './protocol.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BUNDLE = join(HERE, '..', '..', 'dist', 'browser', 'gamewire.js');

/** Options of `startWebExample`. */
export interface WebExampleOptions {
  /** Address for both servers (default `127.0.0.1`; `0.0.0.0` to play across machines). */
  host?: string;
  /** HTTP port of the page (default 8080; 0 = OS-chosen). */
  httpPort?: number;
  /** Port of the gamewire relay, TCP and WebSocket (default 7680; 0 = OS-chosen). */
  relayPort?: number;
  /** Log lines go here (default: nowhere). */
  log?: (line: string) => void;
}

/** A running example. */
export interface WebExample {
  /** The page's address, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  readonly httpPort: number;
  readonly relayPort: number;
  /** Dots the owner knows, by user number. */
  readonly dots: ReadonlyMap<number, { x: number; y: number }>;
  close(): Promise<void>;
}

const FILES: Record<string, { path: string; type: string }> = {
  '/': { path: join(HERE, 'index.html'), type: 'text/html; charset=utf-8' },
  '/index.html': { path: join(HERE, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { path: join(HERE, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/protocol.js': { path: join(HERE, 'protocol.js'), type: 'text/javascript; charset=utf-8' },
  '/gamewire.js': { path: BUNDLE, type: 'text/javascript; charset=utf-8' },
  '/gamewire.js.map': { path: `${BUNDLE}.map`, type: 'application/json; charset=utf-8' },
};

function dotMessage(userNr: number, dot: { x: number; y: number }): Uint8Array {
  const out = new PeoteBytesOutput();
  out.writeByte(DOT);
  out.writeUInt16(userNr);
  out.writeInt16(dot.x);
  out.writeInt16(dot.y);
  return out.getBytes();
}

/** Start the relay, create the joint, then serve the page. */
export async function startWebExample(options: WebExampleOptions = {}): Promise<WebExample> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => {});
  const dots = new Map<number, { x: number; y: number }>();

  statSync(BUNDLE); // throws ENOENT with the path when the bundle was not built
  const relay = await Relay.listen({ host, port: options.relayPort ?? 7680, logLevel: 'warn' });
  // The owner reaches the relay over TCP on loopback; the tabs over WebSocket.
  const ownerHost = host === '0.0.0.0' ? '127.0.0.1' : host;

  let isCreated = false;
  let created: () => void = () => {};
  let failed: (err: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    created = resolve;
    failed = reject;
  });
  const owner = new PeoteServer({
    onCreate: () => {
      isCreated = true;
      created();
    },
    onError: (_server: PeoteServer, userNr: number, reason: number) => {
      if (!isCreated) failed(new Error(`cannot create joint "${JOINT_ID}": ${Reason.toString(reason)}`));
      else log(userNr < 0 ? `the joint is gone: ${Reason.toString(reason)}` : `tab #${userNr} sent bad data: ${Reason.toString(reason)}`);
    },
    onUserConnect: (_server: PeoteServer, userNr: number) => {
      const dot = { x: clampX(60 + ((userNr * 173) % (WIDTH - 120))), y: clampY(60 + ((userNr * 97) % (HEIGHT - 120))) };
      dots.set(userNr, dot);
      const welcome = new PeoteBytesOutput();
      welcome.writeByte(WELCOME);
      welcome.writeUInt16(userNr);
      owner.sendChunk(userNr, welcome.getBytes());
      for (const [nr, other] of dots) if (nr !== userNr) owner.sendChunk(userNr, dotMessage(nr, other));
      owner.broadcastChunk(dotMessage(userNr, dot));
      log(`tab #${userNr} joined (${dots.size} dots)`);
    },
    onUserDisconnect: (_server: PeoteServer, userNr: number, reason: number) => {
      dots.delete(userNr);
      const gone = new PeoteBytesOutput();
      gone.writeByte(GONE);
      gone.writeUInt16(userNr);
      owner.broadcastChunk(gone.getBytes());
      log(`tab #${userNr} left: ${Reason.toString(reason)} (${dots.size} dots)`);
    },
    onDataChunk: (_server: PeoteServer, userNr: number, bytes: Uint8Array) => {
      const dot = dots.get(userNr);
      if (!dot) return;
      let x: number;
      let y: number;
      try {
        const input = new PeoteBytesInput(bytes);
        if (input.readByte() !== MOVE) return;
        x = input.readInt16();
        y = input.readInt16();
      } catch {
        return; // a malformed move from one tab is ignored; the others are unaffected
      }
      dot.x = clampX(x);
      dot.y = clampY(y);
      owner.broadcastChunk(dotMessage(userNr, dot));
    },
  });
  owner.create(ownerHost, relay.port, JOINT_ID);
  try {
    await ready;
  } catch (err) {
    await relay.close();
    throw err;
  }

  const sockets = new Set<Socket>();
  const http: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/config.json') {
      // The page reaches the relay on the host it loaded the page from.
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ relayPort: relay.port }));
      return;
    }
    const file = FILES[path];
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file.path)
      .on('error', () => res.destroy())
      .pipe(res);
  });
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  try {
    await new Promise<void>((listening, failedToListen) => {
      http.once('error', failedToListen);
      http.listen(options.httpPort ?? 8080, host, () => listening());
    });
  } catch (err) {
    owner.delete();
    await relay.close();
    throw err;
  }
  const address = http.address();
  const httpPort = typeof address === 'object' && address ? address.port : 0;
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host;

  return {
    url: `http://${shownHost}:${httpPort}/`,
    httpPort,
    relayPort: relay.port,
    dots,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((closed) => http.close(() => closed()));
      owner.delete();
      await relay.close();
    },
  };
}
