/**
 * The player of the events example. Moves are sent with high priority: applied at once on
 * screen, and undone when the server judges them ILLEGAL (or never answers). A chat line is
 * sent with normal priority and shown only once the server said LEGAL.
 *
 * Run alone against a running server: `node --import tsx examples/events/client.ts [port]`.
 */
import { pathToFileURL } from 'node:url';
import { EventClient, EventsError, type SentEvent } from '../../src/events/index.js'; // 'gamewire/events'
import { startOrExit } from '../exit-on-error.js';
import { START, step, isMoveEvent, type Direction, type Position } from './walls.js';

export interface PlayerOptions {
  /** Where the server is; discovered by unicast probe. */
  host?: string;
  port?: number;
  retryTimeoutMs?: number;
  log?: (line: string) => void;
}

export async function runPlayer(moves: Direction[], options: PlayerOptions = {}): Promise<Position> {
  const say = options.log ?? ((line: string) => console.log(line));
  let position: Position = { ...START };
  const undo = (event: SentEvent, why: string): void => {
    if (!isMoveEvent(event.data)) return;
    // Moves are sent one at a time, so undoing one is stepping back.
    const back: Record<Direction, Direction> = { up: 'down', down: 'up', left: 'right', right: 'left' };
    position = step(position, back[event.data.move]);
    say(`[client] ${why}: rolled back ${event.data.move}, back at (${position.x},${position.y})`);
  };
  const client = new EventClient({
    port: 0,
    retryTimeoutMs: options.retryTimeoutMs,
    onIllegal: (e) => undo(e, 'ILLEGAL'),
    onTimeout: (e) => undo(e, 'no answer'),
    onLegal: (e) => { if (!isMoveEvent(e.data)) say(`[client] chat accepted: ${JSON.stringify(e.data)}`); },
    onNotify: (data) => say(`[client] server says: ${JSON.stringify(data)}`),
  });
  try {
    const [server] = await client.discover({ address: options.host ?? '127.0.0.1', port: options.port ?? 40080 });
    if (!server) throw new Error(`no events server answered at ${options.host ?? '127.0.0.1'}:${options.port ?? 40080}; start one with examples/events/server.ts`);
    say(`[client] found server ${JSON.stringify(server.serverName)} at ${server.address}:${server.port}`);
    await client.register(server.address, server.port);
    for (const move of moves) {
      position = step(position, move); // optimistic: apply now
      say(`[client] moving ${move} to (${position.x},${position.y})`);
      await client.event({ move }, { priority: 'high' }).catch((e: EventsError) => say(`[client] ${e.code}`));
    }
    await client.event({ say: 'made it!' });
    return position;
  } finally {
    await client.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  const end = await startOrExit('events client', () => runPlayer(['right', 'right', 'down', 'down', 'right', 'right', 'up'], { port }));
  console.log(`[client] final position (${end.x},${end.y})`);
}
