import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisBroker } from '../src/broker/redis-broker.ts';
import { HeraldError } from '../src/errors.ts';
import { singleRedisKeys } from '../src/engine/redis-keys.ts';
import { RedisPresence } from '../src/presence/redis-presence.ts';
import { installProtocolTestApp, protocolTestEnv, protocolTestOptions } from './support/protocol-app.ts';
import { ProtocolClient, type Frame } from './support/protocol-client.ts';
import { PrivateRedis } from './support/redis-server.ts';
import { deleteKeys, REDIS_URL, redisClient, spawnHerald, startHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';

const SCRIPT = 'test/support/protocol-server.ts';
const RACERS = 30;

/** A member of a presence channel that records every join and leave push it is sent. */
class Observer {
  readonly client: ProtocolClient;
  readonly events: Frame[] = [];
  private constructor(client: ProtocolClient) {
    this.client = client;
    // A second listener on the socket: requests still read their replies through the client.
    client.socket.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type === 'join' || frame.type === 'leave') this.events.push(frame);
    });
  }

  static async join(url: string, channel: string): Promise<Observer> {
    const observer = new Observer(await ProtocolClient.open(`${url}/connect`));
    const reply = await observer.client.request({ op: 'subscribe', channel });
    assert.equal(reply.result.channel, channel);
    return observer;
  }

  /** The join/leave sequence it saw for each connection in `connections`. */
  seen(connections: ReadonlySet<string>): Map<string, string[]> {
    const byConnection = new Map<string, string[]>();
    for (const event of this.events) {
      const connection = event.client.connection as string;
      if (!connections.has(connection)) continue;
      byConnection.set(connection, [...(byConnection.get(connection) ?? []), event.type as string]);
    }
    return byConnection;
  }

  /** Every join of those connections was followed by exactly one leave. */
  balanced(connections: ReadonlySet<string>): boolean {
    return [...this.seen(connections).values()].every((events) => events.length === 2 && events[0] === 'join' && events[1] === 'leave');
  }

  async presence(channel: string): Promise<string[]> {
    const reply = await this.client.request({ op: 'presence', channel });
    return (reply.result.clients as Array<{ connection: string }>).map((entry) => entry.connection).sort();
  }
}

/**
 * Opens `RACERS` /connect sockets on `urls` (in turn), each subscribing to `channel` and then, 0-8 ms
 * later, doing `end` while the subscribe (and so its presence join) is in flight. Returns their ids.
 */
async function race(urls: string[], channel: string, end: (client: ProtocolClient) => void): Promise<{ ids: Set<string>; clients: ProtocolClient[] }> {
  const clients = await Promise.all(Array.from({ length: RACERS }, (_, i) => ProtocolClient.open(`${urls[i % urls.length]}/connect`)));
  await Promise.all(
    clients.map(
      (client, i) =>
        new Promise<void>((resolve) => {
          client.socket.send({ op: 'subscribe', id: 1, channel });
          // The race itself, not synchronisation: the end comes while the join is in flight.
          setTimeout(() => {
            end(client);
            resolve();
          }, i % 9);
        }),
    ),
  );
  return { ids: new Set(clients.map((client) => client.welcome.connection as string)), clients };
}

// A /connect connection that closes or unsubscribes while its presence join is in flight must
// leave no entry (in Redis, or kept alive by its process's refresher), and every `join` other
// members were sent must be followed by a `leave`.
describe('presence when a subscription ends while its join is in flight (two processes, Redis)', () => {
  const prefix = uniquePrefix();
  // A short TTL: each process refreshes its entries every 300 ms, so a kept ghost would reappear soon.
  const env = { ...protocolTestEnv, REDIS_URL, HERALD_REDIS_PREFIX: prefix, LOG_LEVEL: 'info', HERALD_PRESENCE_TTL_MS: '900' };
  let p1: HeraldProcess;
  let p2: HeraldProcess;
  before(async () => {
    [p1, p2] = await Promise.all([spawnHerald(env, SCRIPT), spawnHerald(env, SCRIPT)]);
  });
  after(async () => {
    await Promise.all([p1.stop(), p2.stop()]);
    await deleteKeys(prefix);
  });

  /** Presence holds exactly the observers on both processes, and still does after each process refreshed its entries. */
  async function onlyObservers(channel: string, observers: Observer[], racers: Set<string>): Promise<void> {
    const expected = observers.map((observer) => observer.client.welcome.connection as string).sort();
    await waitFor(
      async () => {
        const lists = await Promise.all(observers.map((observer) => observer.presence(channel)));
        return lists.every((list) => JSON.stringify(list) === JSON.stringify(expected)) && observers.every((observer) => observer.balanced(racers));
      },
      15_000,
      'presence to hold only the observers, and a leave for every join',
    );
    // Each process refreshes all its entries of a channel at once: once both observers' entries
    // were refreshed, any entry a process still kept for a racer would be back in Redis.
    const redis = redisClient();
    const expiryKey = `${prefix}presence-expiry:${channel}`;
    const before = await Promise.all(expected.map((connection) => redis.zscore(expiryKey, connection)));
    await waitFor(
      async () => {
        const now = await Promise.all(expected.map((connection) => redis.zscore(expiryKey, connection)));
        return now.every((score, i) => Number(score) > Number(before[i]));
      },
      10_000,
      'both processes to refresh their entries',
    );
    assert.deepEqual((await redis.hkeys(`${prefix}presence:${channel}`)).sort(), expected);
    redis.disconnect();
    for (const observer of observers) {
      assert.deepEqual(await observer.presence(channel), expected);
      for (const [connection, events] of observer.seen(racers)) assert.deepEqual(events, ['join', 'leave'], `events for ${connection}`);
    }
  }

  test('sockets that close 0-8 ms after subscribing leave no entry, and every join is followed by a leave', async () => {
    const channel = 'room:close-race';
    const observers = [await Observer.join(p1.wsUrl, channel), await Observer.join(p2.wsUrl, channel)];
    // Half close cleanly, half drop the TCP connection.
    const { ids } = await race([p1.wsUrl, p2.wsUrl], channel, (client) => {
      if (Number(client.welcome.connection.split('.')[1]) % 2 === 0) client.socket.ws.terminate();
      else void client.close();
    });
    await onlyObservers(channel, observers, ids);
    await Promise.all(observers.map((observer) => observer.client.close()));
  });

  test('sockets that unsubscribe 0-8 ms after subscribing leave no entry while still connected', async () => {
    const channel = 'room:unsubscribe-race';
    const observers = [await Observer.join(p1.wsUrl, channel), await Observer.join(p2.wsUrl, channel)];
    const { ids, clients } = await race([p1.wsUrl, p2.wsUrl], channel, (client) => client.socket.send({ op: 'unsubscribe', id: 2, channel }));
    await onlyObservers(channel, observers, ids);
    // Each racer got one reply per request: the subscribe either completed or was cut short.
    for (const client of clients) {
      const replies: Frame[] = [];
      // Pushes of the channel's presence may come in between, while the racer was subscribed.
      while (replies.length < 2) {
        const frame = await client.push();
        if (frame.type === 'reply') replies.push(frame);
        else assert.ok(frame.type === 'join' || frame.type === 'leave', JSON.stringify(frame));
      }
      assert.deepEqual(replies.find((reply) => reply.id === 2), { type: 'reply', id: 2, result: { channel } });
      const subscribed = replies.find((reply) => reply.id === 1)!;
      if (subscribed.error !== undefined) assert.deepEqual(subscribed.error, { code: 'HERALD_ERR_NOT_SUBSCRIBED', message: `Unsubscribed from ${channel} before the subscription completed` });
      else assert.equal(subscribed.result.channel, channel);
    }
    await Promise.all([...clients, ...observers.map((observer) => observer.client)].map((client) => client.close()));
  });
});

describe('presence when a subscription ends while its join is in flight (memory)', () => {
  test('sockets that close or unsubscribe 0-8 ms after subscribing leave no entry', async () => {
    const server = await startHerald(protocolTestOptions, installProtocolTestApp);
    try {
      for (const [channel, end] of [
        ['room:close-race', (client: ProtocolClient) => void client.close()],
        ['room:unsubscribe-race', (client: ProtocolClient) => client.socket.send({ op: 'unsubscribe', id: 2, channel: 'room:unsubscribe-race' })],
      ] as const) {
        const observer = await Observer.join(server.wsUrl, channel);
        const { ids, clients } = await race([server.wsUrl], channel, end);
        const expected = [observer.client.welcome.connection as string];
        await waitFor(async () => JSON.stringify(await observer.presence(channel)) === JSON.stringify(expected) && observer.balanced(ids), 10_000, 'only the observer');
        await Promise.all([...clients, observer.client].map((client) => client.close()));
      }
    } finally {
      await server.close();
    }
  });
});

describe('RedisPresence keeps nothing of a join that failed or was left in flight', () => {
  test('a join made while Redis is down is refused and not refreshed once Redis is back; a leave during a join wins', async () => {
    const redis = await PrivateRedis.start();
    const prefix = uniquePrefix();
    const broker = new RedisBroker({ target: redis.url, prefix });
    await broker.start(() => {});
    const presence = new RedisPresence(broker.commands, singleRedisKeys(prefix), 600);
    const inspector = new Redis(redis.url, { maxRetriesPerRequest: null });
    inspector.on('error', () => {});
    try {
      const channel = 'room:failed-join';
      const hash = `${prefix}presence:${channel}`;
      await presence.join(channel, { connection: 'kept', user: null });
      await redis.kill();
      await assert.rejects(presence.join(channel, { connection: 'refused', user: null }), (error: unknown) => error instanceof HeraldError && error.code === 'HERALD_ERR_BROKER_UNAVAILABLE');
      // Redis comes back empty: the refresher writes back every entry this process keeps.
      await redis.restart();
      await waitFor(async () => (await inspector.hkeys(hash).catch((): string[] => [])).includes('kept'), 10_000, 'the kept entry to be refreshed');
      assert.deepEqual(await inspector.hkeys(hash), ['kept']);

      // A leave while the join is in flight: once both settle, and after the next refresh, no entry.
      const joining = presence.join(channel, { connection: 'gone', user: null });
      await presence.leave(channel, 'gone');
      await joining;
      const expiry = `${prefix}presence-expiry:${channel}`;
      const refreshedAt = Number(await inspector.zscore(expiry, 'kept'));
      await waitFor(async () => Number(await inspector.zscore(expiry, 'kept')) > refreshedAt, 10_000, 'a refresh');
      assert.deepEqual(await inspector.hkeys(hash), ['kept']);
      assert.deepEqual(await presence.list(channel), [{ connection: 'kept', user: null }]);
    } finally {
      inspector.disconnect();
      await presence.close();
      await broker.close();
      await redis.kill();
    }
  });
});
