import { describe, expect, it } from 'vitest';
import { runPlayer } from '../../examples/events/client.js';
import { startWallServer } from '../../examples/events/server.js';

describe('examples/events', () => {
  it('rolls back a move into a wall and ends where the server says', async () => {
    const lines: string[] = [];
    const log = (l: string): void => void lines.push(l);
    const server = await startWallServer({ port: 0, host: '127.0.0.1', retryTimeoutMs: 100, log });
    try {
      const end = await runPlayer(['right', 'right', 'down'], { port: server.address().port, retryTimeoutMs: 100, log });
      expect(end).toEqual({ x: 2, y: 2 });
      expect(lines).toContain('[client] ILLEGAL: rolled back right, back at (2,1)');
      expect(server.stats).toMatchObject({ legal: 3, illegal: 1 });
    } finally {
      await server.close();
    }
  });
});
