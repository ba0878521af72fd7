import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeHttpServer } from '../../api/http-shutdown';

/** A server whose /slow requests wait until released: a request "in flight" during shutdown. */
function slowServer() {
  const pending: (() => void)[] = [];
  let arrived: () => void = () => undefined;
  const slowArrived = new Promise<void>((r) => (arrived = r));
  const server = createServer((req, res) => {
    if (req.url === '/slow') {
      pending.push(() => res.end('done'));
      arrived();
    } else res.end('fast');
  });
  return { server, slowArrived, release: () => pending.splice(0).forEach((finish) => finish()) };
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function get(port: number, path: string): Promise<{ status?: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ port, host: '127.0.0.1', path, agent: false }, (res: IncomingMessage) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('closeHttpServer (API shutdown on SIGTERM)', () => {
  it('stops accepting connections but answers the request in flight before resolving', async () => {
    const { server, slowArrived, release } = slowServer();
    const port = await listen(server);
    const inFlight = get(port, '/slow');
    await slowArrived;

    let closed = false;
    const closing = closeHttpServer(server, 60_000).then(() => (closed = true));
    await expect(get(port, '/fast')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(closed).toBe(false);

    release();
    await expect(inFlight).resolves.toEqual({ status: 200, body: 'done' });
    await closing;
    expect(server.listening).toBe(false);
  });

  it('cuts a request still running after the grace period so shutdown cannot hang', async () => {
    const { server, slowArrived } = slowServer();
    const port = await listen(server);
    const stuck = get(port, '/slow');
    await slowArrived;
    await closeHttpServer(server, 10);
    await expect(stuck).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('does nothing for a server that is not listening', async () => {
    await expect(closeHttpServer(createServer(), 10)).resolves.toBeUndefined();
  });
});
