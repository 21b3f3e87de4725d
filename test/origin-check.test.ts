import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

describe('origin allowlist', () => {
  let server: RunningHerald;
  let bystander: TestClient;
  before(async () => {
    server = await startHerald({ allowedOrigins: ['https://app.example.com', 'http://localhost:3000', 'https://*.example.org'] });
    bystander = await TestClient.open(`${server.wsUrl}/ws/origin-news`, { headers: { Origin: 'https://app.example.com' } });
    bystander.send('subscribed?');
    assert.equal(await bystander.next(), 'subscribed?');
  });
  after(async () => {
    await server.herald.publish('origin-news', 'still here');
    assert.equal(await bystander.next(), 'still here');
    await bystander.close();
    await server.close();
  });

  test('handshakes from listed origins (exact or wildcard subdomain) are accepted', async () => {
    for (const origin of ['https://app.example.com', 'http://localhost:3000', 'https://eu.example.org', 'https://a.b.example.org']) {
      const client = await TestClient.open(`${server.wsUrl}/echo`, { headers: { Origin: origin } });
      client.send('ok');
      assert.equal(await client.next(), 'Message text was: ok', origin);
      await client.close();
    }
  });

  test('a handshake from any other origin is refused with HTTP 403 and a JSON reason', async () => {
    for (const origin of ['https://evil.example', 'http://app.example.com', 'https://app.example.com:8443', 'https://example.org', 'null']) {
      await assert.rejects(TestClient.open(`${server.wsUrl}/echo`, { headers: { Origin: origin } }), { statusCode: 403 }, origin);
    }
    const raw = await rawHandshake(server.url, 'https://evil.example');
    assert.match(raw, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.deepEqual(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)), {
      ok: false,
      error: { code: 'HERALD_ERR_ORIGIN_NOT_ALLOWED', message: 'Origin https://evil.example may not open WebSockets here' },
    });
    assert.ok((server.herald.stats().refusals['origin-refused'] ?? 0) >= 6);
  });

  test('a wildcard matches subdomains by parsed scheme, host and port, not by the header text', async () => {
    // Default ports are normalised and hosts compared in lower case.
    for (const origin of ['https://eu.example.org:443', 'https://EU.Example.ORG']) {
      assert.match(await rawHandshake(server.url, origin), /^HTTP\/1\.1 101 /, origin);
    }
    const lookalikes = [
      'https://evil.com?.example.org',
      'https://evil.com#.example.org',
      'https://evil.com\\.example.org',
      'https://user@evil.com@a.example.org',
      'https://user@a.example.org',
      'https://a.example.org/',
      'https://a.example.org:8443',
      'http://a.example.org',
      'https://a.example.org.evil.com',
      'https://evilexample.org',
      'https://.example.org',
      'ftp://a.example.org',
    ];
    for (const origin of lookalikes) {
      const raw = await rawHandshake(server.url, origin);
      assert.match(raw, /^HTTP\/1\.1 403 Forbidden\r\n/, origin);
      assert.equal(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).error.code, 'HERALD_ERR_ORIGIN_NOT_ALLOWED', origin);
    }
  });

  test('a handshake without an Origin header (a non-browser client) is accepted', async () => {
    const client = await TestClient.open(`${server.wsUrl}/echo`);
    client.send('ok');
    assert.equal(await client.next(), 'Message text was: ok');
    await client.close();
  });
});

async function rawHandshake(url: string, origin: string): Promise<string> {
  const { connect } = await import('node:net');
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        'GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: ${origin}\r\n\r\n`,
      );
    });
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString();
      // An accepted handshake stays open: its 101 head is the whole answer.
      if (data.startsWith('HTTP/1.1 101 ') && data.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(data);
      }
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}
