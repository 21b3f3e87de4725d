import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError, optionsFromEnv, resolveOptions } from '../src/config.ts';
import { installDefaultApp } from '../src/app/default-app.ts';
import type { Herald } from '../src/herald.ts';
import { httpFrom } from './support/http-from.ts';
import { spawnHerald, startHerald, waitFor, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

const FORBIDDEN = { ok: false, error: { code: 'HERALD_ERR_FORBIDDEN', message: 'The HTTP API answers only local clients until HERALD_API_KEY is set' } };
const publish = { channel: 'proxied', data: 'hi' };

/** The default app plus a route that tells each socket the address Herald sees for it. */
function withWhoAmI(herald: Herald): void {
  installDefaultApp(herald);
  herald.socket('/whoami', (socket) => socket.send(socket.remoteAddress));
}

describe('trustProxy: the client address behind a reverse proxy', () => {
  let trusting: RunningHerald;
  let plain: RunningHerald;
  before(async () => {
    // Only 127.0.0.1 is the proxy; 127.0.0.2 is a client on this machine that is not.
    trusting = await startHerald({ trustProxy: ['127.0.0.1'], maxConnectionsPerIp: 1 }, withWhoAmI);
    plain = await startHerald({}, withWhoAmI);
  });
  after(async () => {
    await trusting.close();
    await plain.close();
  });

  test('/api/* without a key is judged by the forwarded client address, not the proxy loopback one', async () => {
    const api = `${trusting.url}/api/publish`;
    // Through the proxy from a remote client: refused, although the TCP peer is 127.0.0.1.
    assert.deepEqual(await httpFrom(api, { body: publish, headers: { 'x-forwarded-for': '203.0.113.7' } }), { status: 403, body: FORBIDDEN });
    // The rightmost hop that is not a trusted proxy counts; what the client wrote left of it does not.
    assert.deepEqual(await httpFrom(api, { body: publish, headers: { 'x-forwarded-for': '127.0.0.1, 203.0.113.7' } }), { status: 403, body: FORBIDDEN });
    assert.deepEqual(await httpFrom(api, { body: publish, headers: { 'x-forwarded-for': '203.0.113.7, 127.0.0.1' } }), { status: 403, body: FORBIDDEN });
    // Through the proxy from this machine, and straight from this machine: allowed.
    assert.deepEqual(await httpFrom(api, { body: publish, headers: { 'x-forwarded-for': '127.0.0.1' } }), { status: 200, body: { ok: true } });
    assert.deepEqual(await httpFrom(api, { body: publish }), { status: 200, body: { ok: true } });
    // /metrics follows the same rule.
    assert.equal((await httpFrom(`${trusting.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 403);
    assert.equal((await httpFrom(`${trusting.url}/metrics`)).status, 200);
  });

  test('X-Forwarded-For from a peer that is not a trusted proxy is ignored', async () => {
    // 127.0.0.2 is not in trustProxy: its header is not believed, its own (loopback) address counts.
    const reply = await httpFrom(`${trusting.url}/api/publish`, { localAddress: '127.0.0.2', body: publish, headers: { 'x-forwarded-for': '203.0.113.7' } });
    assert.deepEqual(reply, { status: 200, body: { ok: true } });
    // Without trustProxy nobody's header is believed.
    assert.deepEqual(await httpFrom(`${plain.url}/api/publish`, { body: publish, headers: { 'x-forwarded-for': '203.0.113.7' } }), { status: 200, body: { ok: true } });
  });

  test('socket routes see the forwarded address; the per-IP limit counts each client on its own', async () => {
    const viaProxy = (client: string) => ({ headers: { 'x-forwarded-for': client } });
    const first = await TestClient.open(`${trusting.wsUrl}/whoami`, viaProxy('198.51.100.1'));
    assert.equal(await first.next(), '198.51.100.1');
    // maxConnectionsPerIp is 1: a second socket of the same client is refused, another client is not.
    await assert.rejects(TestClient.open(`${trusting.wsUrl}/whoami`, viaProxy('198.51.100.1')), { statusCode: 429 });
    const second = await TestClient.open(`${trusting.wsUrl}/whoami`, viaProxy('198.51.100.2'));
    assert.equal(await second.next(), '198.51.100.2');
    // An untrusted peer's header is ignored: it is 127.0.0.2 to Herald.
    const direct = await TestClient.open(`${trusting.wsUrl}/whoami`, { localAddress: '127.0.0.2', ...viaProxy('198.51.100.3') });
    assert.equal(await direct.next(), '127.0.0.2');
    const plainSocket = await TestClient.open(`${plain.wsUrl}/whoami`, viaProxy('198.51.100.1'));
    assert.equal(await plainSocket.next(), '127.0.0.1');
    await Promise.all([first, second, direct, plainSocket].map((client) => client.close()));
  });

  test('refusal logs name the forwarded client address', async () => {
    const server = await spawnHerald({ HERALD_TRUST_PROXY: '127.0.0.1', HERALD_MAX_CONNECTIONS_PER_IP: '1' });
    try {
      const viaProxy = { headers: { 'x-forwarded-for': '198.51.100.9' } };
      const kept = await TestClient.open(`${server.wsUrl}/echo`, viaProxy);
      await assert.rejects(TestClient.open(`${server.wsUrl}/echo`, viaProxy), { statusCode: 429 });
      await waitFor(() => server.output().includes('"refusal":"too-many-connections"'), 5000, 'the refusal log line');
      const line = server.output().split('\n').find((text) => text.includes('"refusal":"too-many-connections"'))!;
      assert.equal(JSON.parse(line).remoteAddress, '198.51.100.9');
      await kept.close();
    } finally {
      await server.stop();
    }
  });
});

describe('a proxy that is not trusted', () => {
  test('a local request with X-Forwarded-For let into /api/* logs a warning, once', async () => {
    const server = await spawnHerald({});
    try {
      const viaProxy = { body: publish, headers: { 'x-forwarded-for': '203.0.113.7' } };
      assert.deepEqual(await httpFrom(`${server.url}/api/publish`, viaProxy), { status: 200, body: { ok: true } });
      assert.deepEqual(await httpFrom(`${server.url}/api/publish`, viaProxy), { status: 200, body: { ok: true } });
      const warning =
        'A request with X-Forwarded-For was let into the HTTP API as a local client: behind a reverse proxy, set HERALD_TRUST_PROXY to its address (or set HERALD_API_KEY), or every client of the proxy is let in';
      await waitFor(() => server.output().includes(warning), 5000, 'the warning');
      assert.equal(server.output().split(warning).length - 1, 1);
    } finally {
      await server.stop();
    }
  });
});

describe('trustProxy configuration', () => {
  test('HERALD_TRUST_PROXY is a comma-separated list of addresses and CIDRs', () => {
    assert.deepEqual(optionsFromEnv({ HERALD_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,fd00::/8' }).trustProxy, ['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    assert.deepEqual(resolveOptions({ trustProxy: ['::1', '192.168.0.0/16'] }).trustProxy, ['::1', '192.168.0.0/16']);
    assert.equal(optionsFromEnv({}).trustProxy, undefined);
  });

  test('an entry that is not an address or CIDR stops the server with a message naming the option', () => {
    for (const bad of ['localhost', '10.0.0.0/33', '10.0.0.0/8/1', 'fd00::/129', '300.1.1.1', '10.0.0.0/x']) {
      assert.throws(() => resolveOptions({ trustProxy: [bad] }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.message, `trustProxy (HERALD_TRUST_PROXY): ${JSON.stringify(bad)} is not an IP address or CIDR like 127.0.0.1 or 10.0.0.0/8`);
        return true;
      });
    }
  });
});
