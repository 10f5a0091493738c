/**
 * The whole chat against a real relay: starts a gamewire Relay on a free port, the room in this
 * process, and two users as separate processes (as peote-net programs would be). Exits by itself.
 *
 *   node --import tsx examples/peote-chat/demo.ts
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Relay, silentLogger } from '../../src/relay/index.js'; // 'gamewire/relay'
import { startChatRoom } from './server.js';

const relay = await Relay.listen({ host: '127.0.0.1', port: 0, logger: silentLogger });
const room = await startChatRoom({ port: relay.port });
const client = fileURLToPath(new URL('./client.ts', import.meta.url));

function user(name: string, lines: string[], waitMs: number, quitAfterMs: number): Promise<void> {
  const argv = ['--import', 'tsx', client, '--port', String(relay.port), '--name', name, '--wait-ms', String(waitMs), '--quit-after', String(quitAfterMs)];
  for (const line of lines) argv.push('--say', line);
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => child.on('exit', () => resolve()));
}

try {
  // alice waits for bob before talking; bob answers and leaves first.
  const alice = user('alice', ['hello bob', 'bye'], 3000, 5000);
  await new Promise((r) => setTimeout(r, 1000));
  await Promise.all([alice, user('bob', ['hi alice'], 2500, 3500)]);
} finally {
  room.delete();
  await relay.close();
}
