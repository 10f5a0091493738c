/**
 * The chat's messages, one chunk each, written with PeoteBytes: `name` then `text` (two
 * strings). The server stamps the sender's name; `*` marks notices from the server.
 */
import { PeoteBytesInput, PeoteBytesOutput } from '../../src/peote/index.js'; // 'gamewire/peote'

export const DEFAULT_JOINT = 'peote-chat';

export function encodeLine(name: string, text: string): Uint8Array {
  const out = new PeoteBytesOutput();
  out.writeString(name);
  out.writeString(text);
  return out.getBytes();
}

/** @returns the line, or null when the chunk is not one (never throws on peer input). */
export function decodeLine(chunk: Uint8Array): { name: string; text: string } | null {
  try {
    const input = new PeoteBytesInput(chunk);
    const line = { name: input.readString(), text: input.readString() };
    return input.bytesLeft === 0 ? line : null;
  } catch {
    return null;
  }
}

/** `--flag value` pairs of the command line. */
export function args(argv = process.argv.slice(2)): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, '');
    map.set(key, [...(map.get(key) ?? []), argv[i + 1] ?? '']);
  }
  return map;
}
