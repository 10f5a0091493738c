/**
 * `gamewire relay` as a child process for the CLI tests (single relay and cluster): started from
 * src/cli.ts under tsx, ready once it logs "relay listening".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Node's arguments that run the CLI from source. */
export const CLI_NODE_ARGS = ['--import', 'tsx', join(ROOT, 'src', 'cli.ts')];

/** A started relay: its process, its ports, and its log lines so far (the array keeps growing). */
export interface RelayProcess {
  child: ChildProcess;
  port: number;
  metricsPort?: number;
  lines: string[];
}

/**
 * Start `gamewire relay --port 0 ...args`, pushing the child to `children` for the caller's cleanup.
 * @returns once it listens; rejects if it exits first or does not listen within `timeoutMs`
 */
export function startRelayProcess(args: string[], children: ChildProcess[], timeoutMs: number): Promise<RelayProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_NODE_ARGS, 'relay', '--port', '0', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const lines: string[] = [];
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`relay did not start: ${lines.join('\n')}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        try {
          const entry = JSON.parse(line) as { msg: string; port: number; metricsPort?: number };
          if (entry.msg === 'relay listening') {
            clearTimeout(timer);
            resolve({ child, port: entry.port, metricsPort: entry.metricsPort, lines });
          }
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with ${code}: ${lines.join('\n')}`));
    });
  });
}
