import assert from 'node:assert/strict';
import { test } from 'node:test';
import { installCoreApp } from '../src/app/core-app.ts';
import { deleteKeys, REDIS_URL, redisClient, startHerald, uniquePrefix, waitFor } from './support/servers.ts';

/** This process's Herald connections on the shared Redis under `prefix`, by role (sorted). */
async function connections(prefix: string): Promise<string[]> {
  const redis = redisClient();
  const list = (await redis.client('LIST')) as string;
  redis.disconnect();
  const suffix = `:${prefix}:${process.pid}`;
  return list
    .split('\n')
    .map((line) => /name=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name.endsWith(suffix))
    .map((name) => name.slice('herald-'.length, -suffix.length))
    .sort();
}

// docs/design.md, "Redis connections": every connection is named, and this is how many there are.
test('one Redis: a core server opens publisher, subscriber and tasks; task workers and schedules add theirs', async () => {
  const bare = uniquePrefix();
  const core = await startHerald({ redisUrl: REDIS_URL, redisPrefix: bare, taskWorkers: 0 }, installCoreApp);
  try {
    await waitFor(async () => (await connections(bare)).length >= 3, 5000, 'the connections');
    assert.deepEqual(await connections(bare), ['publisher', 'subscriber', 'tasks']);
  } finally {
    await core.close();
    await deleteKeys(bare);
  }

  const full = uniquePrefix();
  const busy = await startHerald({ redisUrl: REDIS_URL, redisPrefix: full, taskWorkers: 2 }, (herald) => {
    installCoreApp(herald);
    herald.schedule('one', { everyMs: 60_000 }, () => {});
    herald.schedule('two', { everyMs: 60_000 }, () => {});
  });
  try {
    // BullMQ's blocking copies of the worker connections (one for tasks, one per schedule) carry
    // names of BullMQ's own and are not counted here.
    const expected = ['publisher', 'schedule-worker', 'schedules', 'subscriber', 'task-worker', 'tasks'];
    await waitFor(async () => (await connections(full)).length >= expected.length, 5000, 'the connections');
    assert.deepEqual(await connections(full), expected);
  } finally {
    await busy.close();
    await deleteKeys(full);
  }
});
