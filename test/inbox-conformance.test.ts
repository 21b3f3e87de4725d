import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { hostPort } from '../src/engine/redis-connection.ts';
import { compareInboxIds, type Inbox, type InboxLimits } from '../src/users/inbox.ts';
import { MemoryInbox } from '../src/users/memory-inbox.ts';
import { RedisInbox } from '../src/users/redis-inbox.ts';
import { PrivateRedisCluster } from './support/redis-cluster.ts';
import { deleteKeys, REDIS_URL, uniquePrefix, waitFor } from './support/servers.ts';

const cluster = await PrivateRedisCluster.start();
after(() => cluster.stop());

const LIMITS: InboxLimits = { maxMessages: 5, maxAgeMs: 60_000 };
const SHORT_LIVED: InboxLimits = { maxMessages: 5, maxAgeMs: 1_000 };

const implementations: Array<{ name: string; make: (limits: InboxLimits) => { inbox: Inbox; cleanup: () => Promise<void> } }> = [
  { name: 'memory', make: (limits) => ({ inbox: new MemoryInbox(limits), cleanup: async () => {} }) },
  {
    name: 'redis',
    make: (limits) => {
      const prefix = uniquePrefix();
      const redis = new Redis(REDIS_URL);
      return {
        inbox: new RedisInbox(redis, prefix, limits),
        cleanup: async () => {
          redis.disconnect();
          await deleteKeys(prefix);
        },
      };
    },
  },
  {
    name: 'redis-cluster',
    make: (limits) => {
      const redis = new Cluster(cluster.nodesSetting.map(hostPort));
      return { inbox: new RedisInbox(redis, uniquePrefix(), limits), cleanup: async () => redis.disconnect() };
    },
  },
];

const message = (n: number): string => JSON.stringify({ from: 'alice', data: n });

for (const implementation of implementations) {
  describe(`inbox conformance: ${implementation.name}`, () => {
    const { inbox, cleanup } = implementation.make(LIMITS);
    after(cleanup);

    test('messages are read in the order stored, with increasing ids, until acknowledged', async () => {
      const stored: Array<{ id: string; sentAt: number }> = [];
      for (let n = 1; n <= 3; n++) stored.push((await inbox.store('bob', message(n)))!);
      const ids = stored.map((entry) => entry.id);
      assert.deepEqual([...ids].sort(compareInboxIds), ids);
      assert.equal(new Set(ids).size, 3);
      const read = await inbox.read('bob', 10);
      assert.deepEqual(read.map((entry) => [entry.id, entry.json]), ids.map((id, i) => [id, message(i + 1)]));
      assert.ok(read.every((entry, i) => entry.sentAt === stored[i]!.sentAt && Math.abs(entry.sentAt - Date.now()) < 5000));
      assert.deepEqual((await inbox.read('bob', 2)).map((entry) => entry.id), ids.slice(0, 2));
      assert.equal(await inbox.ack('bob', [ids[0]!, ids[2]!, '1-0']), 2);
      assert.deepEqual((await inbox.read('bob', 10)).map((entry) => entry.id), [ids[1]]);
      assert.equal(await inbox.ack('bob', [ids[1]!]), 1);
      assert.deepEqual(await inbox.read('bob', 10), []);
      assert.deepEqual(await inbox.read('nobody', 10), []);
    });

    test('a full inbox refuses the next message and keeps the others; an ack makes room', async () => {
      const ids: string[] = [];
      for (let n = 1; n <= LIMITS.maxMessages; n++) ids.push((await inbox.store('carol', message(n)))!.id);
      assert.equal(await inbox.store('carol', message(99)), undefined);
      assert.deepEqual((await inbox.read('carol', 100)).map((entry) => entry.json), ids.map((_, i) => message(i + 1)));
      await inbox.ack('carol', [ids[0]!]);
      assert.notEqual(await inbox.store('carol', message(6)), undefined);
      assert.equal((await inbox.read('carol', 100)).at(-1)!.json, message(6));
    });
  });

  describe(`inbox conformance: ${implementation.name}, age limit`, () => {
    const { inbox, cleanup } = implementation.make(SHORT_LIVED);
    after(cleanup);

    test('messages older than the age limit are dropped, and no longer count against the cap', async () => {
      for (let n = 1; n <= SHORT_LIVED.maxMessages; n++) await inbox.store('dave', message(n));
      assert.equal(await inbox.store('dave', message(6)), undefined);
      await waitFor(async () => (await inbox.read('dave', 10)).length === 0, 5000, 'the messages to expire');
      assert.notEqual(await inbox.store('dave', message(7)), undefined);
      assert.deepEqual((await inbox.read('dave', 10)).map((entry) => entry.json), [message(7)]);
    });
  });
}
