import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { MEMORY_HISTORY_MAX_BYTES } from '../src/history/memory-history.ts';
import { isRecovered } from '../src/history/history.ts';
import { engines } from './support/engines.ts';
import { waitFor } from './support/servers.ts';

const HISTORY = { size: 5, ttlSeconds: 60 };

// One suite, every engine: the memory, Redis and Redis Cluster history and presence must agree.
const implementations = (await engines()).map((engine) => ({
  name: engine.name,
  make: async () => {
    const made = engine.make(400);
    await made.broker.start(() => {});
    return { broker: made.broker, presence: made.presence, cleanup: () => made.close() };
  },
}));

for (const implementation of implementations) {
  describe(`history and presence conformance: ${implementation.name}`, async () => {
    const { broker, presence, cleanup } = await implementation.make();
    after(cleanup);

    test('offsets start at 1 and increase by one per kept publication, in one epoch', async () => {
      const empty = await broker.history.read('c1');
      assert.deepEqual(empty.publications, []);
      assert.equal(empty.position.offset, 0);
      const first = await broker.publish('c1', '"a"', { history: HISTORY });
      const second = await broker.publish('c1', '{"b":2}', { history: HISTORY });
      assert.deepEqual([first.offset, second.offset], [1, 2]);
      assert.equal(first.epoch, empty.position.epoch);
      assert.equal(second.epoch, empty.position.epoch);
      assert.deepEqual(await broker.history.read('c1'), {
        position: { offset: 2, epoch: empty.position.epoch },
        publications: [{ offset: 1, json: '"a"' }, { offset: 2, json: '{"b":2}' }],
      });
      const plain = await broker.publish('c1', '"not kept"');
      assert.equal(plain.offset, undefined);
      assert.equal((await broker.history.read('c1', { limit: 0 })).position.offset, 2);
    });

    test('reads after a position, limited, newest first-limited, and nothing for another epoch', async () => {
      for (let i = 1; i <= 4; i++) await broker.publish('c2', String(i), { history: HISTORY });
      const { position } = await broker.history.read('c2', { limit: 0 });
      const after1 = await broker.history.read('c2', { since: { offset: 1, epoch: position.epoch }, limit: 2 });
      assert.deepEqual(after1.publications.map((p) => p.offset), [2, 3]);
      assert.deepEqual((await broker.history.read('c2', { limit: 2 })).publications.map((p) => p.offset), [3, 4]);
      assert.deepEqual((await broker.history.read('c2', { since: { offset: 1, epoch: 'other' } })).publications, []);
      const full = await broker.history.read('c2', { since: { offset: 1, epoch: position.epoch } });
      assert.equal(isRecovered({ offset: 1, epoch: position.epoch }, full), true);
      assert.equal(isRecovered({ offset: 4, epoch: position.epoch }, full), true);
      assert.equal(isRecovered({ offset: 1, epoch: 'other' }, full), false);
      assert.equal(isRecovered({ offset: 9, epoch: position.epoch }, full), false);
    });

    test('keeps the newest `size` publications (Redis trims approximately: at least those)', async () => {
      for (let i = 1; i <= 12; i++) await broker.publish('c3', String(i), { history: HISTORY });
      const { publications, position } = await broker.history.read('c3');
      assert.equal(position.offset, 12);
      assert.deepEqual(publications.slice(-5).map((p) => p.offset), [8, 9, 10, 11, 12]);
      const recovery = await broker.history.read('c3', { since: { offset: 1, epoch: position.epoch } });
      if (implementation.name === 'memory') assert.equal(isRecovered({ offset: 1, epoch: position.epoch }, recovery), false);
    });

    if (implementation.name === 'memory') {
      test('memory history also keeps at most MEMORY_HISTORY_MAX_BYTES of data per channel', async () => {
        const big = JSON.stringify('x'.repeat(Math.floor(MEMORY_HISTORY_MAX_BYTES * 0.4)));
        for (let i = 0; i < 4; i++) await broker.publish('c8', big, { history: HISTORY });
        const { publications, position } = await broker.history.read('c8');
        assert.equal(position.offset, 4);
        assert.deepEqual(publications.map((p) => p.offset), [3, 4]);
      });
    }

    test('history expires as a whole, ttlSeconds after the last publication; the position stays', async () => {
      const brief = { size: 5, ttlSeconds: 2 };
      const first = await broker.publish('c9', '"a"', { history: brief });
      const firstAt = Date.now();
      // The second publication comes 1.2 s later: it keeps the first one alive past its own 2 s.
      await waitFor(() => Date.now() >= firstAt + 1200, 2000, '1.2 s to pass');
      // Taken before the publish: the history's lifetime starts no earlier than this.
      const secondAt = Date.now();
      await broker.publish('c9', '"b"', { history: brief });
      await waitFor(() => Date.now() >= firstAt + 2100, 3000, 'the first publication to be 2.1 s old');
      const kept = await broker.history.read('c9');
      assert.ok(Date.now() < secondAt + 2000, 'read within 2 s of the second publication (machine too slow to tell)');
      assert.deepEqual(kept.publications.map((p) => p.offset), [1, 2]);
      await waitFor(async () => (await broker.history.read('c9')).publications.length === 0, 6000, 'the history to expire');
      assert.ok(Date.now() >= secondAt + 2000, 'expired no earlier than 2 s after the last publication');
      if (implementation.name !== 'memory') {
        // Redis keeps the position (offset and epoch) for 24 hours: a client that missed nothing is recovered.
        const page = await broker.history.read('c9', { since: { offset: 2, epoch: first.epoch! } });
        assert.deepEqual(page, { position: { offset: 2, epoch: first.epoch }, publications: [] });
        assert.equal(isRecovered({ offset: 2, epoch: first.epoch! }, page), true);
      }
    });

    test('remove() loses the history: a new epoch, offsets from 1 again', async () => {
      const before = await broker.publish('c4', '1', { history: HISTORY });
      await broker.history.remove('c4');
      const afterRemove = await broker.publish('c4', '2', { history: HISTORY });
      assert.equal(afterRemove.offset, 1);
      assert.notEqual(afterRemove.epoch, before.epoch);
      const page = await broker.history.read('c4', { since: { offset: 1, epoch: before.epoch! } });
      assert.equal(isRecovered({ offset: 1, epoch: before.epoch! }, page), false);
    });

    test('an idempotency key is accepted once per channel', async () => {
      const first = await broker.publish('c5', '"x"', { history: HISTORY, idempotencyKey: 'k' });
      const repeat = await broker.publish('c5', '"x"', { history: HISTORY, idempotencyKey: 'k' });
      assert.deepEqual(repeat, { reached: 0, offset: first.offset, epoch: first.epoch, duplicate: true });
      assert.equal((await broker.history.read('c5', { limit: 0 })).position.offset, 1);
      assert.equal((await broker.publish('c6', '"x"', { history: HISTORY, idempotencyKey: 'k' })).duplicate, undefined);
      await broker.publish('c7', '"y"', { idempotencyKey: 'no-history' });
      assert.deepEqual(await broker.publish('c7', '"y"', { idempotencyKey: 'no-history' }), { reached: 0, duplicate: true });
    });

    test("presence: join and leave count the user's entries, so exactly one join sees the first and one leave the last", async () => {
      // Ten connections of one user join at once: one join, and only one, sees 1.
      const counts = await Promise.all(Array.from({ length: 10 }, (_, i) => presence.join('counted', { connection: `k-${i}`, user: 'kim' })));
      assert.deepEqual(counts.sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.equal(await presence.join('counted', { connection: 'k-other', user: 'lee' }), 1, 'another user counts apart');
      assert.equal(await presence.join('counted', { connection: 'k-anon', user: null }), 1, 'anonymous entries count among themselves');
      // They leave at once: one leave sees 0; a second leave of the same connection finds nothing.
      const left = await Promise.all(Array.from({ length: 10 }, (_, i) => presence.leave('counted', `k-${i}`)));
      assert.deepEqual(left.sort((a, b) => a! - b!), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(await presence.leave('counted', 'k-0'), undefined);
      assert.equal(await presence.leave('counted', 'k-other'), 0);
      assert.equal(await presence.leave('counted', 'k-anon'), 0);
    });

    test('presence: join, list, leave', async () => {
      await presence.join('room', { connection: 'c-1', user: 'ann', info: { x: 1 } });
      await presence.join('room', { connection: 'c-2', user: null });
      const listed = (await presence.list('room')).sort((a, b) => a.connection.localeCompare(b.connection));
      assert.deepEqual(listed, [{ connection: 'c-1', user: 'ann', info: { x: 1 } }, { connection: 'c-2', user: null }]);
      await presence.leave('room', 'c-1');
      assert.deepEqual(await presence.list('room'), [{ connection: 'c-2', user: null }]);
      await presence.leave('room', 'c-2');
      assert.deepEqual(await presence.list('room'), []);
      if (implementation.name !== 'memory') {
        // Entries are refreshed while their process lives; without refreshes they lapse.
        await presence.join('lapse', { connection: 'c-3', user: 'bo' });
        await presence.close();
        await waitFor(async () => (await presence.list('lapse')).length === 0, 5000, 'entry to lapse');
      }
    });
  });
}
