import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * The HTTP side every comparison target shares: `GET /healthz` and `POST /api/publish
 * {"channel","data"}` answering `{"ok":true}`, with no framework, so the bench compares fan-out and
 * not HTTP stacks. `publish` is what the target does with the publication.
 */
export function createPublishServer(publish: (channel: string, data: string) => void): Server {
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.method === 'GET' && request.url === '/healthz') return void response.end('{"ok":true}');
    if (request.method !== 'POST' || request.url !== '/api/publish') {
      response.statusCode = 404;
      return void response.end();
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { channel: string; data: string };
      publish(body.channel, body.data);
      response.setHeader('content-type', 'application/json');
      response.end('{"ok":true}');
    });
  });
}
