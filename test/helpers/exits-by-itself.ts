/**
 * Runs a TypeScript snippet in a fresh Node process (tsx) and reports whether it exited by itself:
 * the check that a failed call leaves no socket, timer or server open (issue 16 item 5). A
 * leftover handle keeps the process alive until the bound, and the result says so.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root, for imports in snippets (`${ROOT}/src/...`). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What a snippet run gave. */
export interface SnippetRun {
  /** The exit code, or null when it had to be killed. */
  code: number | null;
  /** True when it did not exit by itself within the bound. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/**
 * Run `source` (an ES module in TypeScript) with `node --import tsx`.
 * @param boundMs how long it may take to exit by itself (default 10000)
 * @param env extra environment variables
 */
export function runSnippet(source: string, boundMs = 10_000, env: Record<string, string> = {}): Promise<SnippetRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, boundMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, stdout, stderr });
    });
  });
}

/** A port on 127.0.0.1 with nothing listening (bound once by the OS, then closed). */
export async function deadPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
