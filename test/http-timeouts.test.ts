import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ConfigError, resolveOptions } from '../src/config.ts';
import { startHerald, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

// Incomplete HTTP requests are answered and closed within the configured timeouts, while open
// WebSockets (whose handshakes were HTTP requests too) are never timed out by them.
describe('HTTP header, request and keep-alive timeouts', () => {
  const HEADERS_MS = 500;
  const REQUEST_MS = 1000;
  const KEEP_ALIVE_MS = 500;
  // Node checks every connectionsCheckingInterval (a quarter of the headers timeout here); the rest
  // is room for a loaded machine.
  const SLACK_MS = 2000;
  let server: RunningHerald;
  before(async () => {
    server = await startHerald({ httpHeadersTimeoutMs: HEADERS_MS, httpRequestTimeoutMs: REQUEST_MS, httpKeepAliveTimeoutMs: KEEP_ALIVE_MS });
  });
  after(() => server.close());

  /** Opens a TCP connection, writes `first`; resolves with what the server sent and when it closed. */
  function held(first: string, onOpen?: (socket: Socket) => void): Promise<{ text: string; ms: number }> {
    const { port } = new URL(server.url);
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(first);
        onOpen?.(socket);
      });
      let text = '';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`still open after ${REQUEST_MS + 10_000} ms; got ${JSON.stringify(text)}`));
      }, REQUEST_MS + 10_000);
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ text, ms: Date.now() - started });
      });
      socket.on('error', () => {});
    });
  }

  function answeredOrClosed(result: { text: string; ms: number }, minMs: number, maxMs: number, what: string): void {
    assert.ok(result.text === '' || /^HTTP\/1\.1 408 /.test(result.text), `${what}: ${JSON.stringify(result.text.slice(0, 100))}`);
    assert.ok(result.ms >= minMs - 50 && result.ms <= maxMs, `${what}: closed after ${result.ms} ms`);
  }

  test('unfinished header blocks (plain and WebSocket handshakes) get 408 and are closed at the headers timeout, while open WebSockets stay open', async () => {
    const socket = await TestClient.open(`${server.wsUrl}/echo`);
    const opened = Date.now();
    const results = await Promise.all([
      ...Array.from({ length: 50 }, () => held('GET /healthz HTTP/1.1\r\nHost: x\r\n')),
      ...Array.from({ length: 50 }, () => held('GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n')),
    ]);
    for (const result of results) answeredOrClosed(result, HEADERS_MS, HEADERS_MS + SLACK_MS, 'unfinished headers');
    assert.ok(results.filter((result) => result.text.startsWith('HTTP/1.1 408 ')).length >= 90, 'nearly all are told 408');
    // Past three request timeouts since it opened, the WebSocket is still there and answers.
    assert.equal(await socket.silentFor(Math.max(0, opened + 3 * REQUEST_MS - Date.now())), true);
    socket.send('still open');
    assert.equal(await socket.next(), 'Message text was: still open');
    await socket.close();
  });

  test('a chunked body trickled without end gets 408 or is closed at the request timeout', async () => {
    let trickle: NodeJS.Timeout | undefined;
    const result = await held(
      'POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n',
      (socket) => {
        // One byte every 50 ms: the connection is never idle, the request never complete.
        trickle = setInterval(() => socket.write('1\r\n \r\n'), 50);
      },
    );
    clearInterval(trickle);
    answeredOrClosed(result, REQUEST_MS, REQUEST_MS + SLACK_MS, 'trickled body');
  });

  test('an idle keep-alive connection is closed at the keep-alive timeout', async () => {
    const result = await held('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(result.text, /^HTTP\/1\.1 200 /);
    assert.ok(result.ms >= KEEP_ALIVE_MS - 50 && result.ms <= KEEP_ALIVE_MS + SLACK_MS, `closed after ${result.ms} ms`);
  });

  test('the headers timeout may not exceed the request timeout', () => {
    assert.throws(() => resolveOptions({ httpHeadersTimeoutMs: 5000, httpRequestTimeoutMs: 1000 }), ConfigError);
    assert.throws(() => resolveOptions({ httpRequestTimeoutMs: 10 }), /httpRequestTimeoutMs must be a whole number from 100/);
  });
});
