/**
 * UDP echo client driven by a game loop (step mode, as the original UDPIPE): sends one message per
 * frame for `count` frames, prints the echoes, then closes.
 *   node --import tsx examples/udp-echo/client.ts [host] [port] [token] [count]
 * Run it with no server to see the handshake time out; with the server, see the echoes.
 */
import { UdpPipe } from '../../src/udp/index.js';

const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? 1234);
const token = process.argv[4] ?? 'echo-secret';
const count = Number(process.argv[5] ?? 10);
const FRAME_MS = 16;

const client = new UdpPipe({ mode: 'step', token, handshakeTimeoutMs: 3000 });
let frame = 0;
let echoes = 0;
let done = false;
client.onConnecting = () => console.log('token accepted, attaching to our server socket');
client.onConnect = (s) => console.log(`connected to ${s.address}:${s.port}`);
client.onNewMessage = (msg) => {
  echoes++;
  console.log(`echo: ${msg.toString()}`);
};
client.onDisconnect = (_s, reason) => {
  console.log(`disconnected: ${reason} (${echoes}/${count} echoes, ${client.getSentPackets()} datagrams sent, ${client.getReceivedPackets()} received)`);
  done = true;
};

client.connect(host, port);
const loop = setInterval(() => {
  client.step(); // receive, dispatch callbacks, run timers
  if (done) {
    clearInterval(loop);
    client.destroy();
    return;
  }
  if (client.session?.open) {
    if (frame < count) client.send(`frame ${frame++}`);
    else if (frame++ === count + 30) void client.close(); // give the last echoes ~0.5 s
  }
}, FRAME_MS);
