/**
 * A game loop with the mm style: one server and two clients in one process, each running its own
 * 60 ticks/s loop. Every tick each client sends its position; the server relays every position
 * to all clients; each client draws (here: remembers) the others. Exits by itself after 3 s.
 *
 *   node --import tsx examples/mm-game-loop/main.ts
 *
 * In a real game the server and each client run in separate processes (or a browser, with
 * `gamewire/browser`); the code of each loop is the same.
 */
import { Server, Client, Connection, EventType } from '../../src/mm/index.js';

const KEY = '0C03EA65238DD2C25EB87CE563868098'; // 32 hex digits: AES-128
const TICK_MS = 1000 / 60;
const RUN_MS = 3000;

// --- server: relays positions --------------------------------------------------------------
const server = await Server.listen('127.0.0.1', 0, KEY, { ownQueue: true });
console.log(`server listening on ${server.getAddress()}:${server.getPort()}`);
const names = new Map<Connection, string>();

function serverTick(): void {
  for (const ev of server.pollEvents()) {
    switch (ev.type) {
      case EventType.CONNECT:
        console.log(`server: connection ${ev.object.getSocket()} from ${ev.object.getAddress()}:${ev.object.getPort()}`);
        break;
      case EventType.RECEIVE: {
        const p = ev.packet as { name: string; x: number; y: number };
        names.set(ev.object as Connection, p.name);
        server.broadcast({ name: p.name, x: p.x, y: p.y });
        break;
      }
      case EventType.CLIENT_CLOSE:
        console.log(`server: ${names.get(ev.object) ?? 'a client'} left (${ev.reason})`);
        break;
      case EventType.ERROR:
        console.log(`server: error ${ev.error}`);
        break;
    }
  }
}

// --- clients: move in circles, send position, track the others -----------------------------
function player(name: string, phase: number) {
  const client = new Client('127.0.0.1', server.getPort(), KEY, { ownQueue: true });
  const others = new Map<string, { x: number; y: number }>();
  let connected = false;
  let tickNo = 0;
  let received = 0;
  return {
    name,
    client,
    others,
    get received() {
      return received;
    },
    tick(): void {
      for (const ev of client.pollEvents()) {
        if (ev.type === EventType.CONNECTED) {
          connected = ev.result;
          console.log(`${name}: connected = ${ev.result}${ev.result ? '' : ` (${ev.error})`}`);
        } else if (ev.type === EventType.RECEIVE) {
          const p = ev.packet as { name: string; x: number; y: number };
          received++;
          if (p.name !== name) others.set(p.name, { x: p.x, y: p.y });
        } else if (ev.type === EventType.SERVER_CLOSE) {
          connected = false;
          console.log(`${name}: server closed (${ev.reason})`);
        }
      }
      if (!connected) return;
      tickNo++;
      const a = phase + tickNo / 30;
      client.send({ name, x: Math.round(100 * Math.cos(a)) / 10, y: Math.round(100 * Math.sin(a)) / 10 });
    },
  };
}

const players = [player('ann', 0), player('bob', Math.PI)];
const started = Date.now();
let ticks = 0;
const loop = setInterval(() => {
  ticks++;
  serverTick();
  for (const p of players) p.tick();
  if (ticks % 60 === 0) {
    for (const p of players) {
      const seen = [...p.others].map(([n, pos]) => `${n} at (${pos.x}, ${pos.y})`).join(', ');
      console.log(`${p.name}: ${p.received} updates so far; sees ${seen || 'nobody yet'}`);
    }
  }
  if (Date.now() - started >= RUN_MS) {
    clearInterval(loop);
    void shutdown();
  }
}, TICK_MS);

async function shutdown(): Promise<void> {
  for (const p of players) p.client.disconnect();
  await new Promise((r) => setTimeout(r, 50));
  serverTick();
  await server.close();
  const ok = players.every((p) => p.others.size === 1 && p.received > 60);
  console.log(ok ? 'done: both players saw each other' : 'done: something went wrong');
  process.exitCode = ok ? 0 : 1;
}
