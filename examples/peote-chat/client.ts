/**
 * A chat user: a PeoteClient that enters joint `peote-chat`, sends its name, then every line
 * typed (or every `--say`), and prints what the room broadcasts.
 *
 *   node --import tsx examples/peote-chat/client.ts --port 7680 --name alice
 *   node --import tsx examples/peote-chat/client.ts --port 7680 --name bob --say hi --wait-ms 500 --quit-after 2000
 */
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { PeoteClient, Reason } from '../../src/peote/index.js'; // 'gamewire/peote'
import { startOrExit } from '../exit-on-error.js';
import { DEFAULT_JOINT, args, decodeLine, encodeLine } from './protocol.js';

export interface ChatUserOptions {
  host?: string;
  port: number;
  joint?: string;
  name: string;
  log?: (line: string) => void;
}

/** Enter the room. @returns the client once inside (rejects if enter fails). */
export function joinChat(options: ChatUserOptions): Promise<PeoteClient> {
  const say = options.log ?? ((line: string) => console.log(line));
  return new Promise((resolve, reject) => {
    const client = new PeoteClient({
      onEnter: (c) => {
        c.sendChunk(encodeLine(options.name, options.name));
        resolve(c);
      },
      onError: (_c, reason, cause) => reject(new Error(`enter failed: ${Reason.toString(reason)}, ${Reason.describe(reason, cause)}`)),
      onDisconnect: (_c, reason) => say(`[${options.name}] the room closed: ${Reason.toString(reason)}`),
      onDataChunk: (_c, chunk) => {
        const line = decodeLine(chunk);
        if (line) say(`[${options.name}] ${line.name}: ${line.text}`);
      },
    });
    client.enter(options.host ?? '127.0.0.1', options.port, options.joint ?? DEFAULT_JOINT);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const a = args();
  const name = a.get('name')?.[0] ?? `guest${process.pid}`;
  const client = await startOrExit('peote-chat client', joinChat({ host: a.get('host')?.[0], port: Number(a.get('port')?.[0] ?? 7680), joint: a.get('joint')?.[0], name }));
  const lines = a.get('say');
  const quitAfter = a.get('quit-after')?.[0];
  if (lines) {
    const wait = Number(a.get('wait-ms')?.[0] ?? 0);
    lines.forEach((line, i) => setTimeout(() => client.sendChunk(encodeLine(name, line)), wait + 200 * (i + 1)));
  } else {
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (line) => line && client.sendChunk(encodeLine(name, line)));
    rl.on('close', () => {
      client.leave();
      setTimeout(() => process.exit(0), 50);
    });
  }
  if (quitAfter) {
    setTimeout(() => {
      client.leave();
      setTimeout(() => process.exit(0), 50);
    }, Number(quitAfter));
  }
}
