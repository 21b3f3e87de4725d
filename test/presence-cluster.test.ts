import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Herald, type PresenceClient } from '../client/node.ts';
import { protocolTestEnv } from './support/protocol-app.ts';
import { hs256Token } from './support/tokens.ts';
import { redisBackends } from './support/redis-backends.ts';
import { spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';

const SCRIPT = 'test/support/protocol-server.ts';

function nextEvent<T>(on: (listener: (event: T) => void) => () => void, accept: (event: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('event did not come')), timeoutMs);
    const off = on((event) => {
      if (!accept(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

const byConnection = (clients: PresenceClient[]): PresenceClient[] => [...clients].sort((x, y) => x.connection.localeCompare(y.connection));

// Presence across three processes sharing one Redis, and on a Redis Cluster (`room:` keeps presence in the test app; test-only
// HS256 tokens name the users). A short presence TTL makes a killed process's entries lapse quickly.
for (const backend of await redisBackends()) {
  describe(`presence across processes (${backend.name})`, () => {
    const prefix = uniquePrefix();
    const env = { ...protocolTestEnv, ...backend.env, HERALD_REDIS_PREFIX: prefix, LOG_LEVEL: 'info', HERALD_PRESENCE_TTL_MS: '1500' };
    let a: HeraldProcess;
    let b: HeraldProcess;
    let c: HeraldProcess;
    const clients: Herald[] = [];
    const client = (server: HeraldProcess, user: string, info?: unknown): Herald => {
      const herald = new Herald(`${server.wsUrl}/connect`, { token: () => hs256Token(user), info, minReconnectDelayMs: 100 }).connect();
      clients.push(herald);
      return herald;
    };
    before(async () => {
      [a, b, c] = await Promise.all([spawnHerald(env, SCRIPT), spawnHerald(env, SCRIPT), spawnHerald(env, SCRIPT)]);
    });
    after(async () => {
      for (const herald of clients) herald.close();
      await Promise.all([a.stop(), b.stop(), c.stop()]);
      await backend.cleanup(prefix);
    });

    test('join and leave reach subscribers on another process; presence lists every process', async () => {
      const watcher = client(a, 'watcher');
      const room = watcher.subscribe('room:one', () => {});
      await room.ready;
      const carol = client(b, 'carol', { device: 'laptop' });
      const joined = nextEvent<PresenceClient>((l) => room.on('join', l), (entry) => entry.user === 'carol');
      const carolRoom = carol.subscribe('room:one', () => {});
      await carolRoom.ready;
      const carolEntry = { connection: carol.connectionId!, user: 'carol', info: { device: 'laptop' } };
      assert.deepEqual(await joined, carolEntry);
      assert.deepEqual(byConnection(await watcher.presence('room:one')), byConnection([carolEntry, { connection: watcher.connectionId!, user: 'watcher' }]));
      const left = nextEvent<PresenceClient>((l) => room.on('leave', l));
      carolRoom.unsubscribe();
      assert.deepEqual(await left, { connection: carolEntry.connection, user: 'carol' });
      assert.deepEqual(await watcher.presence('room:one'), [{ connection: watcher.connectionId!, user: 'watcher' }]);
    });

    test('two sockets of the same user are two entries; closing one leaves the other', async () => {
      const bobA = client(a, 'bob');
      const bobB = client(b, 'bob');
      await Promise.all([bobA.subscribe('room:two', () => {}).ready, bobB.subscribe('room:two', () => {}).ready]);
      const entries = await bobA.presence('room:two');
      assert.deepEqual(byConnection(entries), byConnection([
        { connection: bobA.connectionId!, user: 'bob' },
        { connection: bobB.connectionId!, user: 'bob' },
      ]));
      assert.notEqual(bobA.connectionId, bobB.connectionId);
      const remaining = bobB.connectionId!;
      const left = nextEvent<PresenceClient>((l) => bobB.subscription('room:two')!.on('leave', l));
      bobA.close();
      assert.equal((await left).user, 'bob');
      assert.deepEqual(await bobB.presence('room:two'), [{ connection: remaining, user: 'bob' }]);
    });

    test("a killed process's entries disappear within the presence TTL", async () => {
      const observer = client(a, 'observer');
      const dave = client(c, 'dave');
      await dave.subscribe('room:three', () => {}).ready;
      assert.deepEqual(await observer.presence('room:three'), [{ connection: dave.connectionId!, user: 'dave' }]);
      await c.stop('SIGKILL');
      dave.close();
      // Still listed right after the kill (no one cleaned up), gone once the TTL has passed.
      await waitFor(async () => (await observer.presence('room:three')).length === 0, 10_000, 'dave to expire');
    });
  });
}
