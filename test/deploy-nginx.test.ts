import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Herald, type SubscribedEvent } from '../client/node.ts';
import { repoFile, unitEnvironment } from './support/deploy-files.ts';
import { httpFrom } from './support/http-from.ts';
import { startNginx, substitute, type RunningNginx } from './support/nginx.ts';
import { freePort } from './support/redis-server.ts';
import { spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

const FORBIDDEN = { ok: false, error: { code: 'HERALD_ERR_FORBIDDEN', message: 'The HTTP API answers only local clients until HERALD_API_KEY is set' } };

/**
 * deploy/nginx.conf, as docs/deploy.md shows it, in front of two Herald processes configured as
 * deploy/herald@.service configures them, on one Redis.
 */
describe('deploy: nginx in front of two Herald processes', () => {
  const prefix = uniquePrefix();
  let unit: string;
  let ports: number[];
  const servers: HeraldProcess[] = [];
  let nginx: RunningNginx;
  let proxy: string;

  const startUpstream = (port: number): Promise<HeraldProcess> =>
    spawnHerald({
      ...unitEnvironment(unit, String(port)),
      // The test's own: a private key space on the shared Redis, and a limit small enough to reach.
      HERALD_REDIS_PREFIX: prefix,
      HERALD_MAX_CONNECTIONS_PER_IP: '1',
    }, 'dist/src/cli.js'); // the compiled command the systemd unit runs

  before(async () => {
    unit = await repoFile('deploy/herald@.service');
    ports = [await freePort(), await freePort()];
    // One after the other (each start is CPU-bound on a busy machine); each is kept as soon as it
    // runs, so that `after` stops it even when the next one fails to start.
    for (const [i, port] of ports.entries()) servers[i] = await startUpstream(port);
    const proxyPort = await freePort();
    proxy = `127.0.0.1:${proxyPort}`;
    const site = substitute(await repoFile('deploy/nginx.conf'), [
      ['listen 80;', `listen ${proxy};`],
      ['127.0.0.1:8001', `127.0.0.1:${ports[0]}`],
      ['127.0.0.1:8002', `127.0.0.1:${ports[1]}`],
    ]);
    // Test only: nginx takes the client's address from X-Test-Client-Address when the test sends
    // it, so the test can be a client on another machine; nginx then forwards that address in
    // X-Forwarded-For exactly as it would a real remote client's.
    const remoteClients = 'real_ip_header X-Test-Client-Address; set_real_ip_from 127.0.0.1;';
    nginx = await startNginx(site, async () => (await httpFrom(`http://${proxy}/readyz`)).status === 200, remoteClients);
  });
  after(async () => {
    await nginx?.stop();
    await Promise.all(servers.filter((server) => server !== undefined).map((server) => server.stop()));
  });

  test('an SDK client reconnects through nginx when its process restarts, and recovers what was published meanwhile', async () => {
    const client = new Herald(`ws://${proxy}/connect`).connect();
    const received: unknown[] = [];
    const events: SubscribedEvent[] = [];
    const news = client.subscribe('deploy-news', (data) => received.push(data));
    news.on('subscribed', (event) => events.push(event));
    await news.ready;
    const connections = await Promise.all(servers.map(async (server) => (await httpFrom(`${server.url}/api/stats`)).body.connections as number));
    const restarted = connections.indexOf(1);
    assert.deepEqual([...connections].sort(), [0, 1]);
    const other = servers[1 - restarted]!;

    let published = 0;
    let publishedAtDisconnect: number | undefined;
    let publishedAtResubscribe: number | undefined;
    client.on('disconnected', () => (publishedAtDisconnect ??= published));
    news.on('subscribed', (event) => {
      if (event.resubscribed) publishedAtResubscribe ??= published;
    });
    // Publications every 20 ms, straight to the process that keeps running, until stopped. Paced so
    // that the client's time away (the restarted process drains its sockets over 2 s) stays within
    // the channel's history of 100: unpaced, hundreds were published meanwhile and the client was
    // rightly told `recovered: false`.
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const reply = await httpFrom(`${other.url}/api/publish`, { body: { channel: 'deploy-news', data: published } });
        assert.deepEqual(reply, { status: 200, body: { ok: true } });
        published++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      try {
        await waitFor(() => received.length >= 5, 10_000, 'the first publications');
        assert.equal(await servers[restarted]!.stop(), 0);
        servers[restarted] = await startUpstream(ports[restarted]!);
        await waitFor(() => publishedAtResubscribe !== undefined && received.length >= publishedAtResubscribe + 5, 30_000, 'publications after the resubscription');
      } finally {
        publishing = false;
        await publisher;
      }
      // On a timeout, the comparison below shows what was missing or doubled.
      await waitFor(() => received.length === published, 10_000, 'every publication').catch(() => {});
      assert.deepEqual(received, Array.from({ length: published }, (_, i) => i), JSON.stringify({ events, publishedAtDisconnect, publishedAtResubscribe }));
      assert.ok(publishedAtResubscribe! > publishedAtDisconnect!, 'publications were made while the client was away');
      assert.ok(publishedAtResubscribe! - publishedAtDisconnect! < 100, `${publishedAtResubscribe! - publishedAtDisconnect!} publications while away: more than the history keeps`);
      assert.deepEqual(events, [
        { recovered: false, resubscribed: false, recoverable: true },
        { recovered: true, resubscribed: true, recoverable: true },
      ]);
    } finally {
      client.close();
    }
  });

  test('POST /api/publish without a key: 403 for a remote client through nginx, 200 for a local one', async () => {
    const body = { channel: 'deploy-api', data: 'hello' };
    const remote = { 'x-test-client-address': '203.0.113.7' };
    assert.deepEqual(await httpFrom(`http://${proxy}/api/publish`, { body, headers: remote }), { status: 403, body: FORBIDDEN });
    // What the client writes in X-Forwarded-For itself is not believed: nginx appends the address it saw.
    assert.deepEqual(await httpFrom(`http://${proxy}/api/publish`, { body, headers: { ...remote, 'x-forwarded-for': '127.0.0.1' } }), { status: 403, body: FORBIDDEN });
    assert.equal((await httpFrom(`http://${proxy}/metrics`, { headers: remote })).status, 403);
    assert.deepEqual(await httpFrom(`http://${proxy}/api/publish`, { body }), { status: 200, body: { ok: true } });
    assert.equal((await httpFrom(`http://${proxy}/metrics`)).status, 200);
  });

  test('connections per IP are counted per real client address, not per proxy', async () => {
    const open = (localAddress: string) => TestClient.open(`ws://${proxy}/echo`, { localAddress });
    // HERALD_MAX_CONNECTIONS_PER_IP=1 on each of the two processes: client 127.0.0.2 gets at most
    // one socket per process, then 429, whichever process nginx picks.
    const first: TestClient[] = [];
    let refusal: unknown;
    for (let i = 0; i < 3 && refusal === undefined; i++) {
      await open('127.0.0.2').then((client) => first.push(client), (error: unknown) => (refusal = error));
    }
    assert.equal((refusal as { statusCode?: number } | undefined)?.statusCode, 429);
    assert.ok(first.length >= 1 && first.length <= 2, `${first.length} sockets before the refusal`);
    // Another client through the same proxy is not affected.
    const second = await open('127.0.0.3');
    second.send('mine');
    assert.equal(await second.next(), 'Message text was: mine');
    const refusalLine = servers
      .flatMap((server) => server.output().split('\n'))
      .find((line) => line.includes('"refusal":"too-many-connections"'));
    assert.equal(JSON.parse(refusalLine!).remoteAddress, '127.0.0.2');
    await Promise.all([...first, second].map((client) => client.close()));
  });

  test('TLS at the proxy: deploy/nginx-tls.conf serves https and wss with a certificate, and redirects http', async () => {
    const dir = nginx.dir;
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=herald.example.com', '-addext', 'subjectAltName=DNS:herald.example.com',
      '-keyout', join(dir, 'herald.key'), '-out', join(dir, 'herald.pem'),
    ]);
    const ca = await readFile(join(dir, 'herald.pem'), 'utf8');
    const [tlsPort, redirectPort] = [await freePort(), await freePort()];
    const plain = substitute(await repoFile('deploy/nginx.conf'), [
      ['listen 80;', `listen 127.0.0.1:${await freePort()};`],
      ['127.0.0.1:8001', `127.0.0.1:${ports[0]}`],
      ['127.0.0.1:8002', `127.0.0.1:${ports[1]}`],
    ]);
    const tls = substitute(await repoFile('deploy/nginx-tls.conf'), [
      ['listen 443 ssl;', `listen 127.0.0.1:${tlsPort} ssl;`],
      ['listen 80;', `listen 127.0.0.1:${redirectPort};`],
      ['/etc/ssl/certs/herald.example.com.pem', join(dir, 'herald.pem')],
      ['/etc/ssl/private/herald.example.com.key', join(dir, 'herald.key')],
    ]);
    const name = { ca, servername: 'herald.example.com' };
    const https = `https://127.0.0.1:${tlsPort}`;
    const tlsNginx = await startNginx(plain + tls, async () => (await httpFrom(`${https}/readyz`, name)).status === 200);
    try {
      const listener = await TestClient.open(`wss://127.0.0.1:${tlsPort}/ws/deploy-tls`, name);
      listener.send('subscribed?');
      assert.equal(await listener.next(), 'subscribed?');
      assert.deepEqual(await httpFrom(`${https}/api/publish`, { ...name, body: { channel: 'deploy-tls', data: 'over tls' } }), { status: 200, body: { ok: true } });
      assert.equal(await listener.next(), 'over tls');
      await listener.close();
      const redirect = await httpFrom(`http://127.0.0.1:${redirectPort}/healthz`, { headers: { host: 'herald.example.com' } });
      assert.equal(redirect.status, 301);
      assert.equal(redirect.location, 'https://herald.example.com/healthz');
    } finally {
      await tlsNginx.stop();
    }
  });
});
