/**
 * What every example does when it cannot start (a port in use, a relay not running): print one
 * line that says why and exit 1, instead of an unhandled rejection's stack trace (issue 16).
 */

/** One line for a start-up error: the port in use named as such, else the error's message. */
export function explainStartError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; address?: unknown; port?: unknown } | null;
  if (e?.code === 'EADDRINUSE') {
    const where = typeof e.port === 'number' ? ` ${typeof e.address === 'string' ? `${e.address}:` : ''}${e.port}` : '';
    return `port${where} is already in use (EADDRINUSE): stop the program using it or pick another port`;
  }
  if (e?.code === 'EACCES') return `not allowed to listen there (EACCES): ${String(e.message)}`;
  return e instanceof Error ? e.message : String(err);
}

/**
 * Await an example's start-up; when it fails, print `<what>: <why>` on stderr and exit 1.
 * @param what who failed, e.g. `udp-echo server`
 */
export async function startOrExit<T>(what: string, start: Promise<T> | (() => Promise<T>)): Promise<T> {
  try {
    return await (typeof start === 'function' ? start() : start);
  } catch (err) {
    process.stderr.write(`${what}: ${explainStartError(err)}\n`);
    process.exit(1);
  }
}
