import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { postJson, redisClient, spawnHerald, uniquePrefix, waitFor, REDIS_URL, type HeraldProcess } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

const exec = promisify(execFile);

// Two server processes sharing the real Redis: every seed scenario with its sockets split across
// them, and the Redis-level guarantees (interest-based subscriptions, exactly-once delivery).
describe('seed routes across two processes through Redis', () => {
  const prefix = uniquePrefix();
  let a: HeraldProcess;
  let b: HeraldProcess;
  let redis: Redis;
  const clients: TestClient[] = [];
  const open = async (url: string): Promise<TestClient> => {
    const client = await TestClient.open(url);
    clients.push(client);
    return client;
  };

  before(async () => {
    const env = { REDIS_URL, HERALD_REDIS_PREFIX: prefix };
    [a, b] = await Promise.all([spawnHerald(env), spawnHerald(env)]);
    redis = redisClient();
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all([a.stop(), b.stop()]);
    redis.disconnect();
  });

  const numsub = async (channel: string): Promise<number> => {
    const reply = (await redis.pubsub('NUMSUB', prefix + channel)) as [string, number];
    return Number(reply[1]);
  };

  test('000: a frame sent on process A reaches /ws/{channel} sockets on both processes exactly once, in order', async () => {
    const sender = await open(`${a.wsUrl}/ws/fanout`);
    const onA = await open(`${a.wsUrl}/ws/fanout`);
    const onB = await open(`${b.wsUrl}/ws/fanout`);
    const messages = Array.from({ length: 50 }, (_, i) => `m${i}`);
    for (const message of messages) sender.send(message);
    for (const client of [sender, onA, onB]) assert.deepEqual(await client.take(50), messages);
    for (const client of [sender, onA, onB]) assert.equal(await client.silentFor(300), true);
  });

  test('000: HTTP publish on B reaches a socket on A', async () => {
    const onA = await open(`${a.wsUrl}/ws/from-http`);
    assert.deepEqual((await postJson(`${b.url}/api/publish`, { channel: 'from-http', data: { x: 1 } })).body, { ok: true });
    assert.equal(await onA.next(), '{"x":1}');
  });

  test('000: redis-cli PUBLISH from outside reaches subscribers on both processes as plain text', async () => {
    const onA = await open(`${a.wsUrl}/ws/news`);
    const onB = await open(`${b.wsUrl}/ws/news`);
    const { stdout } = await exec('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'PUBLISH', `${prefix}news`, 'hello']);
    assert.equal(stdout.trim(), '2', 'one Redis subscriber per process');
    assert.equal(await onA.next(), 'hello');
    assert.equal(await onB.next(), 'hello');
    await redis.publish(`${prefix}news`, '{"from":"python"}');
    assert.equal(await onA.next(), '{"from":"python"}');
    assert.equal(await onB.next(), '{"from":"python"}');
  });

  test('000: every socket of user 7 on every process gets the user_event envelope', async () => {
    const first = await open(`${a.wsUrl}/ws/7`);
    const second = await open(`${b.wsUrl}/ws/7`);
    const stranger = await open(`${b.wsUrl}/ws/8`);
    first.send('hi');
    const expected = '{"type":"user_event","data":"hi"}';
    assert.equal(await first.next(), expected);
    assert.equal(await second.next(), expected);
    assert.equal(await stranger.silentFor(200), true);
  });

  test('001: private messages and /create_chat reach the recipient on the other process', async () => {
    const x = await open(`${a.wsUrl}/connect_chat?user_code=X1`);
    const y = await open(`${b.wsUrl}/connect_chat?user_code=Y1`);
    await x.next();
    await y.next();
    x.send({ type: 'private_message', recipient: 'Y1', msg: 'across' });
    assert.deepEqual(await y.nextJson(), { type: 'private_message', sender: 'X1', msg: 'across', recipient: 'Y1' });
    const reply = await postJson(`${a.url}/create_chat`, { sender: 'ops', recipient: 'Y1', msg: 'via http' });
    assert.deepEqual(reply.body, { code: 200, msg: '成功', data: '' });
    assert.deepEqual(await y.nextJson(), { type: 'private_message', sender: 'ops', msg: 'via http', recipient: 'Y1' });
    x.send({ type: 'private_message', recipient: 'Nobody1', msg: 'anyone?' });
    const notice = (await x.nextJson()) as { type: string; recipient: string };
    assert.equal(notice.type, 'system');
    assert.equal(notice.recipient, 'X1');
  });

  test('002: /chat reaches every other chatter on both processes, never the sender', async () => {
    const alice = await open(`${a.wsUrl}/chat?username=alice`);
    const bob = await open(`${b.wsUrl}/chat?username=bob`);
    const carol = await open(`${a.wsUrl}/chat?username=carol`);
    alice.send('hello');
    assert.deepEqual(await bob.nextJson(), { username: 'alice', message: 'hello' });
    assert.deepEqual(await carol.nextJson(), { username: 'alice', message: 'hello' });
    assert.equal(await alice.silentFor(300), true);
  });

  test('003: broadcast and disconnect notices cross processes; group chat too', async () => {
    const one = await TestClient.open(`${a.wsUrl}/broadcast/1`);
    const two = await open(`${b.wsUrl}/broadcast/2`);
    one.send('hey');
    assert.equal(await two.next(), 'Client #1 says: hey');
    assert.equal(await one.next(), 'Client #1 says: hey');
    await one.close();
    assert.equal(await two.next(), 'Client #1 disconnected');

    const g1 = await open(`${a.wsUrl}/ws/chat/`);
    const g2 = await open(`${b.wsUrl}/ws/chat/`);
    g2.send({ message: 'group' });
    assert.deepEqual(await g1.nextJson(), { message: 'group' });
    assert.deepEqual(await g2.nextJson(), { message: 'group' });
  });

  test('a process subscribes in Redis only to channels it has local subscribers for', async () => {
    const client = await TestClient.open(`${a.wsUrl}/ws/only-on-a`);
    assert.equal(await numsub('only-on-a'), 1, 'A is subscribed, B is not');
    const channels = (await redis.pubsub('CHANNELS', `${prefix}only-on-a`)) as string[];
    assert.deepEqual(channels, [`${prefix}only-on-a`]);
    await client.close();
    await waitFor(async () => (await numsub('only-on-a')) === 0, 5000, 'A to unsubscribe');
  });

  test('1,000 sockets connecting and leaving leave no subscription behind on either side', async () => {
    const stats = async (server: HeraldProcess) => (await fetch(`${server.url}/api/stats`)).json() as Promise<{ connections: number; channels: number }>;
    const baseline = await Promise.all([stats(a), stats(b)]);
    const sockets: TestClient[] = [];
    for (let batch = 0; batch < 10; batch++) {
      sockets.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, (_, i) => TestClient.open(`${(i % 2 === 0 ? a : b).wsUrl}/ws/load-${(batch * 100 + i) % 50}`)),
        )),
      );
    }
    const before = await Promise.all([stats(a), stats(b)]);
    assert.equal(before[0].connections - baseline[0].connections, 500);
    assert.equal(before[1].connections - baseline[1].connections, 500);
    assert.equal(before[0].channels - baseline[0].channels, 25);
    assert.equal(before[1].channels - baseline[1].channels, 25);
    // Every one of the 50 channels is subscribed once per process that has a socket on it.
    assert.equal(((await redis.pubsub('CHANNELS', `${prefix}load-*`)) as string[]).length, 50);
    // Close all; half cleanly, half by dropping TCP.
    await Promise.all(sockets.map((socket, i) => (i % 2 === 0 ? socket.close() : (socket.ws.terminate(), socket.closed))));
    await waitFor(async () => ((await redis.pubsub('CHANNELS', `${prefix}load-*`)) as string[]).length === 0, 10_000, 'Redis subscriptions to go');
    await waitFor(async () => {
      const now = await Promise.all([stats(a), stats(b)]);
      return JSON.stringify(now) === JSON.stringify(baseline);
    }, 10_000, 'connections and local channels to return to where they were');
  });
});
