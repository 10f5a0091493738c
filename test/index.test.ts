import { describe, expect, it } from 'vitest';
import * as gamewire from '../src/index.js';

describe('the public face (src/index.ts)', () => {
  it('reports which implementation runs, honouring GAMEWIRE_NATIVE=0', () => {
    expect(['native', 'fallback']).toContain(gamewire.implementation);
    if (process.env.GAMEWIRE_NATIVE === '0') expect(gamewire.implementation).toBe('fallback');
    expect(['native', 'fallback']).toContain(gamewire.implementationOf('aead'));
  });

  it('exports the MM style flat and the other styles by name and as namespaces', () => {
    for (const name of ['Server', 'Client', 'pollEvents', 'EventType', 'network'] as const) {
      expect(gamewire[name], name).toBeDefined();
    }
    expect(gamewire.PeoteServer).toBe(gamewire.peote.PeoteServer);
    expect(gamewire.UdpPipe).toBe(gamewire.udp.UdpPipe);
    expect(gamewire.EventServer).toBe(gamewire.events.EventServer);
    expect(gamewire.Relay).toBe(gamewire.relay.Relay);
    expect(gamewire.Reason.toString(gamewire.Reason.FULL)).toMatch(/full/i);
  });
});
