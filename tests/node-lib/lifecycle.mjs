// The life of a Node test server started by the Rust testkit or the e2e test: it announces
// itself with one JSON line on stdout, and stops on SIGTERM, SIGINT or when its stdin closes,
// so a server never outlives the test that started it (IDP_IGNORE_STDIN=1 keeps it running
// for manual use).

/**
 * Wires the shutdown signals for `server`, then prints `ready` as the one line the starter
 * waits for. `log` is the server's stderr logger; `verbose` also logs why it stopped.
 */
export function announceAndStayTied(server, ready, { log, verbose }) {
  let stopping = false;
  const shutdown = (reason) => {
    if (stopping) return;
    stopping = true;
    if (verbose) log(`shutting down (${reason})`);
    server.close();
    server.closeAllConnections?.();
    // Do not wait for keep-alive clients.
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (process.env.IDP_IGNORE_STDIN !== '1') {
    process.stdin.on('end', () => shutdown('stdin closed'));
    process.stdin.on('close', () => shutdown('stdin closed'));
    process.stdin.on('error', () => shutdown('stdin error'));
    process.stdin.resume();
  }
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}
