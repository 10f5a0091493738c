/**
 * The error `Relay.listen` rejects with when the port cannot be bound: one line that says where
 * and why (`EADDRINUSE` → "address already in use"), keeping `code`, `address` and `port` as Node's
 * errors have them, and the original as `cause`.
 */
export function listenError(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  const why =
    code === 'EADDRINUSE' ? 'address already in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'address not available on this machine' : (err as Error)?.message ?? String(err);
  const out = new Error(`relay cannot listen on ${host}:${port}: ${why}${code ? ` (${code})` : ''}`, { cause: err });
  // Keep Node's fields (`code`, `address`, `port`, ...) for callers that read them.
  return Object.assign(out, { code, address: host, port });
}
