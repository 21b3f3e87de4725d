import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Herald, HeraldClientError } from '../client/node.ts';
import { installProtocolTestApp, protocolTestOptions } from './support/protocol-app.ts';
import { REDIS_URL, startHerald, uniquePrefix, waitFor, type RunningHerald } from './support/servers.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

// A publish whose reply is lost may or may not have happened. The SDK sends every publish with an
// idempotency key and, when the connection drops before the reply, sends it again with the same key:
// the server, on the real Redis, accepts the key once.
describe('SDK publish across a lost reply', () => {
  let server: RunningHerald;
  let proxy: TcpProxy;
  const clients: Herald[] = [];
  before(async () => {
    server = await startHerald({ ...protocolTestOptions, redisUrl: REDIS_URL, redisPrefix: uniquePrefix() }, installProtocolTestApp);
    proxy = await TcpProxy.start(Number(new URL(server.url).port));
  });
  after(async () => {
    for (const herald of clients) herald.close();
    await proxy.close();
    await server.close();
  });
  const client = (url: string): Herald => {
    const herald = new Herald(url, { minReconnectDelayMs: 50, maxReconnectDelayMs: 200, pingIntervalMs: 0 }).connect();
    clients.push(herald);
    return herald;
  };

  test('the connection drops after the server published but before its reply: the SDK resends with the same key and the publication is delivered once', async () => {
    const watcher = client(`${server.wsUrl}/connect`);
    const received: unknown[] = [];
    await watcher.subscribe('sdk:once', (data) => received.push(data)).ready;
    const publisher = client(`ws://127.0.0.1:${proxy.port}/connect`);
    await publisher.ping();
    const drops: number[] = [];
    publisher.on('disconnected', ({ code }) => drops.push(code));
    const before = proxy.accepted;
    // The server publishes, then its reply is lost with the connection.
    proxy.cutWhenServerSends((chunk) => chunk.includes('"result":{"channel":"sdk:once"'));
    const result = await publisher.publish('sdk:once', { text: 'exactly once' });
    assert.deepEqual(drops, [1006]);
    assert.equal(proxy.accepted - before, 1, 'one reconnect');
    assert.equal(result.duplicate, true);
    assert.equal(result.offset, 1);
    // A later publication arriving proves nothing else is on its way.
    await watcher.publish('sdk:once', 'marker');
    await waitFor(() => received.length >= 2, 5000, 'the marker');
    assert.deepEqual(received, [{ text: 'exactly once' }, 'marker']);
    const { publications } = await watcher.history('sdk:once');
    assert.deepEqual(publications.map((p) => p.data), [{ text: 'exactly once' }, 'marker']);
  });

  test('each logical publish has its own key: the same data published twice is delivered twice', async () => {
    const herald = client(`${server.wsUrl}/connect`);
    const received: unknown[] = [];
    await herald.subscribe('sdk:twice', (data) => received.push(data)).ready;
    const first = await herald.publish('sdk:twice', 'same');
    const second = await herald.publish('sdk:twice', 'same');
    assert.deepEqual([first.offset, first.duplicate, second.offset, second.duplicate], [1, undefined, 2, undefined]);
    await waitFor(() => received.length === 2, 5000, 'both publications');
    assert.deepEqual(received, ['same', 'same']);
  });

  test('a rejected publish carries its key, and publishing again with it is accepted once', async () => {
    const herald = client(`${server.wsUrl}/connect`);
    const refused = await herald.publish('locked:a', 1).then(
      () => assert.fail('publishing to locked:a must be refused'),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof HeraldClientError);
    assert.equal(refused.code, 'HERALD_ERR_PERMISSION_DENIED');
    assert.match(refused.idempotencyKey ?? '', /^sdk-[0-9a-f]{32}$/);
    await assert.rejects(herald.publish('locked:a', 1, { idempotencyKey: 'mine-1' }), { code: 'HERALD_ERR_PERMISSION_DENIED', idempotencyKey: 'mine-1' });
    // The caller's own retry of an ambiguous publish: same key, once.
    const first = await herald.publish('sdk:caller', 'x', { idempotencyKey: 'order-7' });
    const again = await herald.publish('sdk:caller', 'x', { idempotencyKey: 'order-7' });
    assert.deepEqual([first.duplicate, again.duplicate, again.offset], [undefined, true, first.offset]);
  });
});
