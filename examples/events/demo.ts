/**
 * The whole events example in one process: a server whose rules forbid walking through walls,
 * and a player who tries, is rolled back, and walks around. Exits by itself.
 *
 *   node --import tsx examples/events/demo.ts
 */
import { runPlayer } from './client.js';
import { startWallServer } from './server.js';

const server = await startWallServer({ port: 0, host: '127.0.0.1', retryTimeoutMs: 200 });
try {
  const { port } = server.address();
  // (1,1) → right (2,1) → right: wall at (3,1), rolled back → down, down → right, right → up.
  const end = await runPlayer(['right', 'right', 'down', 'down', 'right', 'right', 'up'], { port, retryTimeoutMs: 200 });
  console.log(`[demo] the player ends at (${end.x},${end.y}); the server agrees: ${JSON.stringify(server.stats)}`);
} finally {
  await server.close();
}
