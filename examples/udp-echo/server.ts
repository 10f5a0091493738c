/**
 * UDP echo server in the UDPIPE style, event-loop mode.
 *   node --import tsx examples/udp-echo/server.ts [port] [token]
 * In an installed project, import from 'gamewire/udp' instead of the source path.
 */
import { UdpPipe } from '../../src/udp/index.js';
import { startOrExit } from '../exit-on-error.js';

const port = Number(process.argv[2] ?? 1234);
const token = process.argv[3] ?? 'echo-secret';

const server = new UdpPipe({ token, maxClients: 32, verbose: process.env.UDPIPEVERBOSE === '1' });
server.onNewClient = (s) => console.log(`client ${s.address}:${s.port} connected (${server.clients.length} now)`);
server.onNewMessage = (msg, s) => server.send(msg, s); // echo, unreliable like plain UDP
server.onStalled = (s) => console.log(`client ${s.address}:${s.port} stalled`);
server.onUnstalled = (s, n) => console.log(`client ${s.address}:${s.port} back, ${n} queued messages flushed`);
server.onDisconnect = (s, reason) => console.log(`client ${s.address}:${s.port} gone: ${reason}`);
server.onBadToken = (address) => console.log(`bad token from ${address}`);
server.onMaxClients = (address) => console.log(`server full, refused ${address}`);

const bound = await startOrExit('udp-echo server', () => server.start(port, '127.0.0.1'));
console.log(`echo server on 127.0.0.1:${bound}`);
process.once('SIGINT', () => {
  void server.close().then(() => process.exit(0));
});
