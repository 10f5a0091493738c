/**
 * The chat room: a PeoteServer that owns joint `peote-chat` on a relay. A user's first chunk is
 * its name; every later chunk is a line, broadcast to everyone else with the name in front.
 *
 *   npx gamewire relay --port 7680                       # or: node --import tsx src/cli.ts relay
 *   node --import tsx examples/peote-chat/server.ts --port 7680
 */
import { pathToFileURL } from 'node:url';
import { PeoteServer, Reason } from '../../src/peote/index.js'; // 'gamewire/peote'
import { startOrExit } from '../exit-on-error.js';
import { DEFAULT_JOINT, args, decodeLine, encodeLine } from './protocol.js';

export interface ChatRoomOptions {
  host?: string;
  port: number;
  joint?: string;
  log?: (line: string) => void;
}

/** Open the room. @returns the server, once the joint exists (rejects if create fails). */
export function startChatRoom(options: ChatRoomOptions): Promise<PeoteServer> {
  const say = options.log ?? ((line: string) => console.log(line));
  const names = new Map<number, string>();
  return new Promise((resolve, reject) => {
    let up = false;
    const server = new PeoteServer({
      onCreate: (s) => {
        up = true;
        say(`[room] joint "${s.jointId}" is open (jointNr ${s.jointNr})`);
        resolve(s);
      },
      onError: (_s, userNr, reason, cause) => {
        if (!up) {
          reject(new Error(`create failed: ${Reason.toString(reason)}, ${Reason.describe(reason, cause)}`));
          return;
        }
        say(`[room] error${userNr >= 0 ? ` from user ${userNr}` : ''}: ${Reason.describe(reason, cause)}`);
      },
      onUserConnect: (s, userNr) => {
        say(`[room] user ${userNr} entered`);
        s.sendChunk(userNr, encodeLine('*', `welcome, you are user ${userNr}`));
      },
      onUserDisconnect: (s, userNr, reason) => {
        const name = names.get(userNr) ?? `user ${userNr}`;
        names.delete(userNr);
        say(`[room] ${name} left (${Reason.toString(reason)})`);
        s.broadcastChunk(encodeLine('*', `${name} left`));
      },
      onDataChunk: (s, userNr, chunk) => {
        const line = decodeLine(chunk);
        if (!line) return;
        if (!names.has(userNr)) {
          names.set(userNr, line.text);
          s.broadcastChunk(encodeLine('*', `${line.text} joined`), userNr);
          return;
        }
        s.broadcastChunk(encodeLine(names.get(userNr)!, line.text), userNr);
      },
    });
    server.create(options.host ?? '127.0.0.1', options.port, options.joint ?? DEFAULT_JOINT);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const a = args();
  const room = await startOrExit('peote-chat room', startChatRoom({ host: a.get('host')?.[0], port: Number(a.get('port')?.[0] ?? 7680), joint: a.get('joint')?.[0] }));
  process.on('SIGINT', () => {
    room.delete();
    setTimeout(() => process.exit(0), 50);
  });
}
