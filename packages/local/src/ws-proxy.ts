import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { WebSocketServer } from 'ws';

/**
 * Stands in for Neon's WebSocket edge locally: each WebSocket (`/v1?address=host:port`) is piped to
 * a TCP connection to PostgreSQL, so the serverless driver runs unchanged against a local server.
 * Only loopback targets are accepted.
 */
export async function startWsProxy(port = 0): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => res.writeHead(426).end('WebSocket only'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, request) => {
    const address = new URL(request.url ?? '/', 'http://proxy').searchParams.get('address') ?? '';
    const [host, portText] = address.split(':');
    if (!host || !['127.0.0.1', 'localhost', '::1'].includes(host) || !portText) {
      socket.close(1008, 'only local PostgreSQL');
      return;
    }
    const tcp = connect(Number(portText), host);
    tcp.setNoDelay(true);
    const pending: Buffer[] = [];
    tcp.on('connect', () => {
      for (const chunk of pending.splice(0)) tcp.write(chunk);
    });
    socket.on('message', (data: Buffer) => (tcp.connecting ? pending.push(data) : tcp.write(data)));
    tcp.on('data', (data) => socket.send(data));
    tcp.on('close', () => socket.close());
    tcp.on('error', () => socket.close());
    socket.on('close', () => tcp.destroy());
    socket.on('error', () => tcp.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
