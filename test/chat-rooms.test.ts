import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Herald, HeraldClientError } from '../client/node.ts';
import { Roster } from '../web/src/chat/roster.ts';
import { startHerald, waitFor, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

// What the chat page relies on from the default app (src/app/chat-rooms.ts), driven with the
// client SDK, and the page's who-is-here bookkeeping (web/src/chat/roster.ts).
describe('chat rooms in the default app', () => {
  let server: RunningHerald;
  const clients: Herald[] = [];
  const connect = (user: string): Herald => {
    const herald = new Herald(`${server.wsUrl}/connect?user=${user}`, { minReconnectDelayMs: 50, maxReconnectDelayMs: 300 });
    clients.push(herald);
    return herald.connect();
  };
  before(async () => {
    server = await startHerald();
  });
  after(async () => {
    for (const herald of clients) herald.close();
    await server.close();
  });

  test('?user names the connection: presence lists it, private messages carry it as the sender', async () => {
    const ada = connect('ada');
    const bob = connect('bob');
    const received: unknown[] = [];
    bob.on('message', (message) => received.push(message));
    await Promise.all([ada.subscribe('chat:names', () => {}).ready, bob.subscribe('chat:names', () => {}).ready]);
    const present = await ada.presence('chat:names');
    assert.deepEqual(present.map((client) => client.user).sort(), ['ada', 'bob']);
    assert.deepEqual(await ada.send('bob', { text: 'hi' }), { user: 'bob', online: true });
    await waitFor(() => received.length === 1);
    assert.deepEqual(received, [{ from: 'ada', data: { text: 'hi' } }]);
    assert.deepEqual(await ada.send('nobody', { text: 'hello?' }), { user: 'nobody', online: false });
  });

  test('chat rooms keep history: a newcomer reads what was said before it came', async () => {
    const ada = connect('ada');
    await ada.publish('chat:history', { user: 'ada', text: 'one' });
    await ada.publish('chat:history', { user: 'ada', text: 'two' });
    const cyd = connect('cyd');
    await cyd.subscribe('chat:history', () => {}).ready;
    const { publications } = await cyd.history('chat:history', { limit: 50 });
    assert.deepEqual(publications.map((entry) => entry.data), [{ user: 'ada', text: 'one' }, { user: 'ada', text: 'two' }]);
  });

  test('a name outside the user alphabet is refused with 1008 and the reason', async () => {
    const client = await TestClient.open(`${server.wsUrl}/connect?user=${encodeURIComponent('no spaces')}`);
    assert.deepEqual(await client.closed, { code: 1008, reason: 'user must be 1-100 letters, digits or _ - . @ = + , ~' });
  });

  test('task channels accept subscribers but refuse client publishes', async () => {
    const ada = connect('ada');
    await ada.subscribe('task:some-task', () => {}).ready;
    await assert.rejects(ada.publish('task:some-task', { type: 'completed', id: 'some-task', result: 'forged' }), (error: unknown) => {
      assert.ok(error instanceof HeraldClientError);
      assert.equal(error.code, 'HERALD_ERR_PUBLISH_FORBIDDEN');
      return true;
    });
  });
});

describe('who is here (the chat page\'s roster)', () => {
  const ada1 = { connection: 'a1', user: 'ada' };
  const ada2 = { connection: 'a2', user: 'ada' };
  const bob = { connection: 'b1', user: 'bob' };

  test('a user with two connections stays until the last leaves; arrivals and departures are reported once', () => {
    const roster = new Roster();
    roster.snapshot([]);
    assert.equal(roster.event('join', ada1), 'ada');
    assert.equal(roster.event('join', ada2), undefined);
    assert.equal(roster.event('join', bob), 'bob');
    assert.deepEqual(roster.users, ['ada', 'bob']);
    assert.equal(roster.event('leave', ada1), undefined);
    assert.deepEqual(roster.users, ['ada', 'bob']);
    assert.equal(roster.event('leave', ada2), 'ada');
    assert.deepEqual(roster.users, ['bob']);
    assert.equal(roster.event('join', { connection: 'x', user: null }), undefined, 'anonymous connections are nobody');
  });

  test('pushes that arrive while a snapshot is fetched are replayed on top of it', () => {
    const roster = new Roster();
    roster.snapshotRequested();
    roster.event('leave', bob); // bob left after the snapshot was read...
    roster.event('join', ada1); // ...and ada joined before it was read
    roster.snapshot([bob, ada1]);
    assert.deepEqual(roster.users, ['ada']);
  });
});
