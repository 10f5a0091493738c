/**
 * The tests' nats-server helper: a server that cannot bind its port fails to start even when
 * another process's server answers there (its greeting must not pass for ours).
 */
import { describe, expect, it } from 'vitest';
import { HAS_NATS, NATS_SKIP_REASON, startNatsServer } from './nats-server.js';

describe.skipIf(!HAS_NATS)(`the nats-server helper${NATS_SKIP_REASON}`, () => {
  it("fails to start on a port another server holds, instead of taking that server's greeting for its own", async () => {
    const first = await startNatsServer({ jetstream: false });
    try {
      await expect(startNatsServer({ port: first.port, jetstream: false })).rejects.toThrow(/did not start.*\n[\s\S]*address already in use/);
    } finally {
      await first.dispose();
    }
  });
});
