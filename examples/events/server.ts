/**
 * The authoritative server of the events example: it keeps every player's position and judges
 * each move; a move into a wall is ILLEGAL. After executing a legal move it pushes the new
 * position to the player (NOTIFY).
 *
 * Run alone: `node --import tsx examples/events/server.ts [port]` (default 40080, Ctrl-C to stop).
 */
import { pathToFileURL } from 'node:url';
import { EventServer } from '../../src/events/index.js'; // in your project: 'gamewire/events'
import { startOrExit } from '../exit-on-error.js';
import { isFloor, isMoveEvent, START, step, type Position } from './walls.js';

export interface WallServerOptions {
  port?: number;
  host?: string;
  retryTimeoutMs?: number;
  log?: (line: string) => void;
}

export async function startWallServer(options: WallServerOptions = {}): Promise<EventServer> {
  const say = options.log ?? ((line: string) => console.log(line));
  const positions = new Map<string, Position>();
  const server = new EventServer({
    port: options.port ?? 40080,
    host: options.host,
    serverName: 'walls',
    retryTimeoutMs: options.retryTimeoutMs,
    onRegister: (client) => positions.set(client.id, { ...START }),
    onExpire: (client) => positions.delete(client.id),
    middleware: {
      judge(clientId, _eventId, data) {
        const at = positions.get(clientId);
        if (!at) return false;
        if (isMoveEvent(data)) {
          const to = step(at, data.move);
          const legal = isFloor(to);
          say(`[server] ${data.move} from (${at.x},${at.y}) to (${to.x},${to.y}): ${legal ? 'LEGAL' : 'ILLEGAL, a wall'}`);
          return legal;
        }
        // Chat lines are fine when short.
        return typeof (data as { say?: unknown }).say === 'string' && (data as { say: string }).say.length <= 80;
      },
      execute(clientId, _eventId, data) {
        if (!isMoveEvent(data)) return;
        const to = step(positions.get(clientId)!, data.move);
        positions.set(clientId, to);
        server.notify(clientId, { position: to });
      },
    },
  });
  const { address, port } = await server.listen();
  say(`[server] listening on ${address}:${port}`);
  return server;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  const server = await startOrExit('events server', () => startWallServer({ port }));
  process.once('SIGINT', () => void server.close());
}
