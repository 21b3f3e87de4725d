import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { hostPort } from '../src/engine/redis-connection.ts';
import { MemoryOnlineStatus } from '../src/users/memory-online-status.ts';
import type { OnlineStatus, Transition } from '../src/users/online-status.ts';
import { RedisOnlineStatus } from '../src/users/redis-online-status.ts';
import { PrivateRedisCluster } from './support/redis-cluster.ts';
import { deleteKeys, REDIS_URL, uniquePrefix, waitFor } from './support/servers.ts';

// A private Redis Cluster for the third implementation: each subject's keys share one hash tag, so
// every script runs on one shard, and many subjects' lookups spread over the shards.
const cluster = await PrivateRedisCluster.start();
after(() => cluster.stop());

// One suite, both implementations: two "processes" share one store (memory: one instance, as the
// embedded broker is one process; Redis: two instances on their own connections, one prefix).
const implementations: Array<{ name: string; make: () => { a: OnlineStatus; b: OnlineStatus; cleanup: () => Promise<void> } }> = [
  {
    name: 'memory',
    make: () => {
      const status = new MemoryOnlineStatus();
      return { a: status, b: status, cleanup: () => status.close() };
    },
  },
  {
    name: 'redis',
    make: () => {
      const prefix = uniquePrefix();
      const connections = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
      const [a, b] = connections.map((redis) => new RedisOnlineStatus(redis, prefix, 'user', 600)) as [RedisOnlineStatus, RedisOnlineStatus];
      return {
        a,
        b,
        cleanup: async () => {
          await Promise.all([a.close(), b.close()]);
          for (const redis of connections) redis.disconnect();
          await deleteKeys(prefix);
        },
      };
    },
  },
  {
    name: 'redis-cluster',
    make: () => {
      const prefix = uniquePrefix();
      const connections = [0, 1].map(() => new Cluster(cluster.nodesSetting.map(hostPort)));
      const [a, b] = connections.map((redis) => new RedisOnlineStatus(redis, prefix, 'user', 600)) as [RedisOnlineStatus, RedisOnlineStatus];
      return {
        a,
        b,
        cleanup: async () => {
          await Promise.all([a.close(), b.close()]);
          for (const redis of connections) redis.disconnect();
        },
      };
    },
  },
];

for (const implementation of implementations) {
  describe(`online status conformance: ${implementation.name}`, () => {
    const { a, b, cleanup } = implementation.make();
    after(cleanup);

    test('the first member anywhere makes the subject online, once; the last to leave makes it offline, once', async () => {
      assert.deepEqual(await a.join('u1', 'c1'), { online: true, notify: true });
      assert.deepEqual(await b.join('u1', 'c2'), { online: false, notify: false });
      assert.deepEqual(Object.fromEntries(await b.lookup(['u1', 'nobody'])), { u1: { online: true, lastSeen: null }, nobody: { online: false, lastSeen: null } });
      assert.equal(await a.leave('u1', 'c1'), undefined);
      const before = Date.now();
      const lastSeen = await b.leave('u1', 'c2');
      assert.equal(typeof lastSeen, 'number');
      assert.ok(Math.abs(lastSeen! - before) < 1000);
      assert.deepEqual(Object.fromEntries(await a.lookup(['u1'])), { u1: { online: false, lastSeen } });
      assert.equal(await a.leave('u1', 'c2'), undefined, 'leaving twice tells nothing');
    });

    test('concurrent joins on two processes: exactly one sees the transition', async () => {
      const outcomes = await Promise.all([a.join('u2', 'x1'), b.join('u2', 'x2'), a.join('u2', 'x3'), b.join('u2', 'x4')]);
      assert.equal(outcomes.filter((outcome) => outcome.online).length, 1);
      const leaves = await Promise.all([a.leave('u2', 'x1'), b.leave('u2', 'x2'), a.leave('u2', 'x3'), b.leave('u2', 'x4')]);
      assert.equal(leaves.filter((lastSeen) => lastSeen !== undefined).length, 1);
    });

    test('the offline notice is confirmed once, and not after a return within the debounce', async () => {
      await a.join('u3', 'c1');
      const firstLeave = (await a.leave('u3', 'c1'))!;
      // Back before the check ran: no new online notice, and the old departure is not confirmed.
      assert.deepEqual(await b.join('u3', 'c2'), { online: true, notify: false });
      assert.equal(await a.confirmOffline('u3', firstLeave), false);
      const secondLeave = (await b.leave('u3', 'c2'))!;
      assert.equal(await a.confirmOffline('u3', firstLeave), false, 'an older departure is never confirmed');
      const confirmations = await Promise.all([a.confirmOffline('u3', secondLeave), b.confirmOffline('u3', secondLeave)]);
      assert.deepEqual(confirmations.sort(), [false, true]);
      assert.deepEqual(await a.join('u3', 'c3'), { online: true, notify: true }, 'after a confirmed departure, the return is notified');
      await a.leave('u3', 'c3');
    });

    test('1,000 subjects answer in one lookup', async () => {
      const subjects = Array.from({ length: 1000 }, (_, i) => `many-${i}`);
      await Promise.all(subjects.filter((_, i) => i % 3 === 0).map((subject) => a.join(subject, 'c')));
      const statuses = await b.lookup(subjects);
      assert.equal(statuses.size, 1000);
      subjects.forEach((subject, i) => assert.equal(statuses.get(subject)!.online, i % 3 === 0, subject));
      await Promise.all(subjects.filter((_, i) => i % 3 === 0).map((subject) => a.leave(subject, 'c')));
    });
  });
}

describe('online status conformance: redis, a dead process', () => {
  test("a process that stops refreshing loses its members within the TTL, and one survivor reports each subject offline once", async () => {
    const prefix = uniquePrefix();
    const connections = [new Redis(REDIS_URL), new Redis(REDIS_URL), new Redis(REDIS_URL)];
    const [dead, survivor1, survivor2] = connections.map((redis) => new RedisOnlineStatus(redis, prefix, 'user', 600)) as [RedisOnlineStatus, RedisOnlineStatus, RedisOnlineStatus];
    const reported: Array<[string, Transition]> = [];
    survivor1.onTransition((subject, transition) => reported.push([subject, transition]));
    survivor2.onTransition((subject, transition) => reported.push([subject, transition]));
    try {
      await dead.join('crashed-user', 'c1');
      await survivor1.join('kept-user', 'c2');
      await dead.join('kept-user', 'c3');
      // The process dies: its timer stops, nothing is removed.
      await dead.close();
      const died = Date.now();
      await waitFor(() => reported.length > 0, 5000, 'the lapse to be reported');
      assert.ok(Date.now() - died < 600 + 200 + 1500, 'within the TTL plus a sweep interval (and slack for a loaded machine)');
      // Another round of sweeps reports nothing more.
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(reported.length, 1);
      assert.equal(reported[0]![0], 'crashed-user');
      assert.equal(reported[0]![1].online, false);
      const statuses = await survivor2.lookup(['crashed-user', 'kept-user']);
      assert.equal(statuses.get('crashed-user')!.online, false);
      assert.equal(statuses.get('crashed-user')!.lastSeen, (reported[0]![1] as { lastSeen: number }).lastSeen);
      assert.deepEqual(statuses.get('kept-user'), { online: true, lastSeen: null });
    } finally {
      await Promise.all([survivor1.close(), survivor2.close()]);
      for (const redis of connections) redis.disconnect();
      await deleteKeys(prefix);
    }
  });
});
