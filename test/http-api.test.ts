import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { channelSockets } from '../src/app/channel-sockets.ts';
import { postJson, startHerald, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

describe('HTTP publish API', () => {
  let open: RunningHerald;
  let keyed: RunningHerald;
  before(async () => {
    open = await startHerald();
    keyed = await startHerald({ apiKey: 's3cret-key' });
  });
  after(() => Promise.all([open.close(), keyed.close()]));

  test('400 with a JSON reason for each kind of bad body', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ data: 1 }, /channel/],
      [{ channel: 'news' }, /data/],
      [{ channel: '', data: 1 }, /channel/],
      [{ channel: 'bad name!', data: 1 }, /Invalid channel name/],
      [{ channel: 5, data: 1 }, /channel/],
      ['{"channel": "news", ', /JSON/i],
      ['[]', /object/],
    ];
    for (const [body, reason] of cases) {
      const reply = await postJson(`${open.url}/api/publish`, body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.equal(reply.body.ok, false);
      assert.equal(typeof reply.body.error.code, 'string');
      assert.match(reply.body.error.message, reason, JSON.stringify(body));
    }
  });

  test('400 for a body that is not a JSON object, 415 for an unknown content type, 404 JSON for an unknown path', async () => {
    const text = await fetch(`${open.url}/api/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(text.status, 400);
    assert.match((await text.json()).error.message, /object/);
    const xml = await fetch(`${open.url}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<x/>' });
    assert.equal(xml.status, 415);
    assert.equal((await xml.json()).ok, false);
    const missing = await fetch(`${open.url}/api/nothing`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, 'HERALD_ERR_NOT_FOUND');
  });

  test('with HERALD_API_KEY set, /api/* needs the bearer key', async () => {
    const body = { channel: 'keyed', data: 'x' };
    const none = await postJson(`${keyed.url}/api/publish`, body);
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'HERALD_ERR_UNAUTHORIZED');
    assert.equal((await postJson(`${keyed.url}/api/publish`, body, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await postJson(`${keyed.url}/api/publish`, body, { authorization: 'Basic s3cret-key' })).status, 401);
    const subscriber = await TestClient.open(`${keyed.wsUrl}/ws/keyed`);
    const ok = await postJson(`${keyed.url}/api/publish`, body, { authorization: 'Bearer s3cret-key' });
    assert.deepEqual([ok.status, ok.body], [200, { ok: true }]);
    assert.equal(await subscriber.next(), 'x');
    await subscriber.close();
  });

  test('without an API key, /api/* refuses clients that are not on this machine', async (t) => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal);
    if (external === undefined) {
      t.skip('this machine has no non-loopback IPv4 address to call from');
      return;
    }
    const server = await startHerald({ host: '0.0.0.0' });
    try {
      const port = new URL(server.url).port;
      const remote = await postJson(`http://${external.address}:${port}/api/publish`, { channel: 'x', data: 1 });
      assert.equal(remote.status, 403);
      assert.equal(remote.body.error.code, 'HERALD_ERR_FORBIDDEN');
      const local = await postJson(`http://127.0.0.1:${port}/api/publish`, { channel: 'x', data: 1 });
      assert.equal(local.status, 200);
    } finally {
      await server.close();
    }
  });

  test('/healthz and /readyz answer 200 on a healthy server', async () => {
    const health = await fetch(`${open.url}/healthz`);
    assert.deepEqual([health.status, await health.json()], [200, { ok: true }]);
    const ready = await fetch(`${open.url}/readyz`);
    assert.deepEqual([ready.status, await ready.json()], [200, { ok: true, broker: 'memory', connections: { memory: 'ready' } }]);
  });
});

describe('metrics', () => {
  test('/metrics reports connections, channels, publications and deliveries in Prometheus format', async () => {
    // Only the channel sockets: the default app's clock would add a publication whenever a tick
    // falls inside the test, and the counts below are exact.
    const server = await startHerald({}, channelSockets);
    try {
      const a = await TestClient.open(`${server.wsUrl}/ws/metered`);
      const b = await TestClient.open(`${server.wsUrl}/ws/metered`);
      a.send('one');
      await Promise.all([a.next(), b.next()]);
      const response = await fetch(`${server.url}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
      const text = await response.text();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      assert.equal(value('herald_connections'), 2);
      assert.equal(value('herald_channels'), 1);
      assert.equal(value('herald_publications_total'), 1);
      assert.equal(value('herald_deliveries_total'), 2);
      assert.equal(value('herald_broker_ready'), 1);
      assert.match(text, /^process_resident_memory_bytes /m);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await server.close();
    }
  });
});
