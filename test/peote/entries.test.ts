/**
 * Each peote entry runs its classes on its own hooks, passed in, not installed at import
 * (issue 15 item 1): importing the browser entry into a Node process leaves the Node entry's
 * connector in place, and each entry's configureJointClient changes only its own.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as node from '../../src/peote/index.js';
import * as web from '../../src/peote/browser.js';
import { installFakeConnector, settle } from './fake-stream.js';

afterEach(() => node.destroyAllJointConnections());

describe('the peote entries', () => {
  it('keep their own connectors whatever was imported last', async () => {
    const fake = installFakeConnector();
    const other = vi.fn(() => Promise.reject(new Error('not this one')));
    web.configureJointClient({ connect: other });
    try {
      const server = new node.PeoteServer({ onDataChunk: () => {} });
      server.create('relay', 1, 'entries');
      await settle();
      expect(fake.streams).toHaveLength(1);
      expect(other).not.toHaveBeenCalled();
      server.delete();
    } finally {
      fake.restore();
    }
  });

  it('hand callbacks instances of the entry class the user constructed', async () => {
    const created = vi.fn();
    const server = new node.PeoteServer({ offline: true, netLag: 0, onCreate: created });
    server.create('local', 7, 'entries-offline');
    await vi.waitFor(() => expect(created).toHaveBeenCalled());
    const seen = created.mock.calls[0]![0];
    expect(seen).toBe(server);
    expect(seen).toBeInstanceOf(node.PeoteServer);
    expect(new web.PeoteClient()).toBeInstanceOf(web.PeoteClient);
    expect(new node.PeoteClient()).not.toBeInstanceOf(web.PeoteClient);
    server.delete();
  });
});
