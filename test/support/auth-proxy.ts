import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AuthProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * A loopback proxy that adds the bearer token, for MCP clients that cannot send headers (the
 * conformance CLI). Host and Origin naming the proxy itself become the target's; any other
 * value (a DNS-rebinding probe) is passed on as it came, for tabcrew to refuse.
 */
export async function startAuthProxy(target: string, token: string): Promise<AuthProxy> {
  const to = new URL(target);
  let self = '';
  const server: Server = createServer((req, res) => {
    const headers = { ...req.headers, authorization: `Bearer ${token}` };
    if (headers.host === self) headers.host = to.host;
    if (headers.origin === `http://${self}`) headers.origin = `http://${to.host}`;
    const up = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  self = `localhost:${port}`;
  return {
    url: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
