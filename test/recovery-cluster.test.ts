import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Herald, type SubscribedEvent } from '../client/node.ts';
import { protocolTestEnv } from './support/protocol-app.ts';
import { redisBackends } from './support/redis-backends.ts';
import { spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const SCRIPT = 'test/support/protocol-server.ts';
const COUNT = 1000;

/** Publishes 1..COUNT at a steady pace (20 every ~25 ms), calling `at(i)` after publication i. */
async function publishStream(publisher: Herald, channel: string, at: (i: number) => void | Promise<void>): Promise<void> {
  for (let i = 1; i <= COUNT; i++) {
    await publisher.publish(channel, i);
    await at(i);
    // Pacing, not synchronisation: the stream must still be flowing while the subscriber is away.
    if (i % 20 === 0) await delay(25);
  }
}

// The SDK against two server processes on one Redis and on a Redis Cluster: subscriber on A, publisher on B.
for (const backend of await redisBackends()) {
  describe(`recovery across processes (${backend.name})`, () => {
    const prefix = uniquePrefix();
    const env = { ...protocolTestEnv, ...backend.env, HERALD_REDIS_PREFIX: prefix, LOG_LEVEL: 'info', HERALD_POSITION_CHECK_MS: '500' };
    let a: HeraldProcess;
    let b: HeraldProcess;
    const clients: Herald[] = [];
    const client = (url: string): Herald => {
      const herald = new Herald(`${url}/connect`, { minReconnectDelayMs: 100, maxReconnectDelayMs: 1000 }).connect();
      clients.push(herald);
      return herald;
    };
    before(async () => {
      [a, b] = await Promise.all([spawnHerald(env, SCRIPT), spawnHerald(env, SCRIPT)]);
    });
    after(async () => {
      for (const herald of clients) herald.close();
      await Promise.all([a.stop(), b.stop()]);
      await backend.cleanup(prefix);
    });

    test('a subscriber whose connection is cut mid-stream receives all 1,000 publications, in order, once', async () => {
      const proxy = await TcpProxy.start(Number(new URL(a.url).port));
      const subscriber = client(`ws://127.0.0.1:${proxy.port}`);
      const publisher = client(b.wsUrl);
      const received: unknown[] = [];
      const events: SubscribedEvent[] = [];
      const sub = subscriber.subscribe('stream:cut', (data) => received.push(data));
      sub.on('subscribed', (event) => events.push(event));
      await sub.ready;
      const disconnects: Array<{ code: number; reconnect: boolean }> = [];
      subscriber.on('disconnected', ({ code, reconnect }) => disconnects.push({ code, reconnect }));
      await publishStream(publisher, 'stream:cut', (i) => {
        if (i === 300 || i === 600) proxy.cut();
      });
      await waitFor(() => received.length >= COUNT, 30_000, 'all publications');
      await publisher.ping();
      assert.deepEqual(received, Array.from({ length: COUNT }, (_, i) => i + 1));
      // A network drop: no close frame (1006), and the client reconnects.
      assert.deepEqual(disconnects, [{ code: 1006, reconnect: true }, { code: 1006, reconnect: true }]);
      assert.deepEqual(events, [
        { recovered: false, resubscribed: false, recoverable: true },
        { recovered: true, resubscribed: true, recoverable: true },
        { recovered: true, resubscribed: true, recoverable: true },
      ]);
      await proxy.close();
    });

    test('after the channel history is wiped from Redis, the next resubscribe says recovered: false', async () => {
      const subscriber = client(a.wsUrl);
      const publisher = client(b.wsUrl);
      const received: unknown[] = [];
      const sub = subscriber.subscribe('stream:wiped', (data) => received.push(data));
      await sub.ready;
      await publisher.publish('stream:wiped', 'kept');
      await waitFor(() => received.length === 1);
      subscriber.close();
      const redis = backend.client();
      const keys = backend.keys(prefix);
      assert.equal(await redis.del(keys.channelKey('stream:wiped', 'history-meta'), keys.channelKey('stream:wiped', 'history')), 2);
      redis.disconnect();
      await publisher.publish('stream:wiped', 'after wipe');
      const resubscribed = new Promise<SubscribedEvent>((resolve) => sub.on('subscribed', resolve));
      subscriber.connect();
      assert.deepEqual(await resubscribed, { recovered: false, resubscribed: true, recoverable: true });
      assert.deepEqual(received, ['kept']);
      await publisher.publish('stream:wiped', 'live');
      await waitFor(() => received.length === 2);
      assert.deepEqual(received, ['kept', 'live']);
    });

    test('a subscriber whose server is killed (SIGKILL) and restarted receives all 1,000, in order, once', async () => {
      const port = new URL(a.url).port;
      const subscriber = client(a.wsUrl);
      const publisher = client(b.wsUrl);
      const received: unknown[] = [];
      const events: SubscribedEvent[] = [];
      const sub = subscriber.subscribe('stream:killed', (data) => received.push(data));
      sub.on('subscribed', (event) => events.push(event));
      await sub.ready;
      let restarted: Promise<HeraldProcess> | undefined;
      await publishStream(publisher, 'stream:killed', async (i) => {
        if (i === 300) {
          await a.stop('SIGKILL');
          restarted = spawnHerald({ ...env, PORT: port }, SCRIPT);
        }
      });
      a = await restarted!;
      await waitFor(() => received.length >= COUNT, 30_000, 'all publications');
      await publisher.ping();
      assert.deepEqual(received, Array.from({ length: COUNT }, (_, i) => i + 1));
      assert.deepEqual(events.at(-1), { recovered: true, resubscribed: true, recoverable: true });
    });
  });
}
