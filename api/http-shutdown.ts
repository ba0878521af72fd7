import type { Server } from 'node:http';

/**
 * Stops an HTTP server gracefully: no new connections, idle keep-alive connections closed now, requests in flight
 * answered; connections still busy after `graceMs` are destroyed so a stuck request cannot hold the shutdown (the
 * container's stop_grace_period is longer). Resolves once the server is closed.
 */
export async function closeHttpServer(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), graceMs);
  force.unref();
  try {
    await closed;
  } finally {
    clearTimeout(force);
  }
}
