// The dots page: enter the joint through the relay's WebSocket path, send my moves, draw
// every dot the owner reports. Loaded as an ES module next to the gamewire bundle.
import { PeoteClient, PeoteBytesInput, PeoteBytesOutput, Reason } from './gamewire.js';
import { DOT, GONE, HEIGHT, JOINT_ID, MOVE, STEP, WELCOME, WIDTH, clampX, clampY, colorOf } from './protocol.js';

const canvas = document.getElementById('field');
const ctx = canvas.getContext('2d');
const statusLine = document.getElementById('status');

/**
 * Everything the page knows, exposed for the browser test (test/browser/web-example.test.ts).
 * `mine` is my own dot as I moved it: keys move it at once (the owner clamps exactly as we
 * do), so quick presses never build on a position the owner has not echoed yet.
 */
const state = { status: 'connecting', me: -1, mine: null, dots: new Map() };
window.dotsExample = {
  get status() { return state.status; },
  get me() { return state.me; },
  dots: () => Object.fromEntries([...state.dots].map(([nr, d]) => [nr, { x: d.x, y: d.y }])),
};

function setStatus(text) {
  state.status = text;
  statusLine.textContent = text;
}

const config = await (await fetch('./config.json')).json();

const client = new PeoteClient({
  onEnter: () => setStatus(`in joint "${JOINT_ID}"`),
  onError: (_client, reason) => setStatus(`cannot enter: ${Reason.toString(reason)}`),
  onDisconnect: (_client, reason) => {
    setStatus(`disconnected: ${Reason.toString(reason)}`);
    state.dots.clear();
    state.mine = null;
  },
  onDataChunk: (_client, bytes) => receive(bytes),
});

function receive(bytes) {
  const input = new PeoteBytesInput(bytes);
  const kind = input.readByte();
  if (kind === WELCOME) {
    state.me = input.readUInt16();
  } else if (kind === DOT) {
    const nr = input.readUInt16();
    const x = input.readInt16();
    const y = input.readInt16();
    if (nr === state.me && state.mine !== null) return; // my dot: my own position wins
    state.dots.set(nr, { x, y });
    if (nr === state.me) state.mine = state.dots.get(nr);
  } else if (kind === GONE) {
    state.dots.delete(input.readUInt16());
  }
}

function move(dx, dy) {
  const mine = state.mine;
  if (mine === null) return;
  mine.x = clampX(mine.x + dx);
  mine.y = clampY(mine.y + dy);
  const out = new PeoteBytesOutput();
  out.writeByte(MOVE);
  out.writeInt16(mine.x);
  out.writeInt16(mine.y);
  client.sendChunk(out.getBytes());
}

const KEYS = { ArrowLeft: [-STEP, 0], ArrowRight: [STEP, 0], ArrowUp: [0, -STEP], ArrowDown: [0, STEP] };
window.addEventListener('keydown', (event) => {
  const delta = KEYS[event.key];
  if (!delta) return;
  event.preventDefault();
  move(delta[0], delta[1]);
});

function draw() {
  ctx.clearRect(0, 0, WIDTH, HEIGHT);
  ctx.strokeStyle = '#263041';
  ctx.lineWidth = 1;
  for (let x = 40; x < WIDTH; x += 40) { ctx.beginPath(); ctx.moveTo(x + 0.5, 0); ctx.lineTo(x + 0.5, HEIGHT); ctx.stroke(); }
  for (let y = 40; y < HEIGHT; y += 40) { ctx.beginPath(); ctx.moveTo(0, y + 0.5); ctx.lineTo(WIDTH, y + 0.5); ctx.stroke(); }
  ctx.font = '12px system-ui, sans-serif';
  ctx.textAlign = 'center';
  for (const [nr, dot] of state.dots) {
    ctx.beginPath();
    ctx.arc(dot.x, dot.y, 10, 0, Math.PI * 2);
    ctx.fillStyle = colorOf(nr);
    ctx.fill();
    if (nr === state.me) {
      ctx.lineWidth = 3;
      ctx.strokeStyle = '#ffffff';
      ctx.stroke();
    }
    ctx.fillStyle = '#d8dee9';
    ctx.fillText(nr === state.me ? `you (#${nr})` : `#${nr}`, dot.x, dot.y - 16);
  }
  requestAnimationFrame(draw);
}
requestAnimationFrame(draw);

client.enter(config.relayHost || location.hostname, config.relayPort, JOINT_ID);
