import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Herald, HeraldClientError, type HeraldClientOptions } from '../client/node.ts';
import { encodeNameForChannel, inboxChannel } from '../web/src/chat/inbox-channel.ts';
import { Roster } from '../web/src/chat/roster.ts';
import { startHerald, waitFor, type RunningHerald } from './support/servers.ts';
import { hs256Token, TEST_SECRET } from './support/tokens.ts';

// What the chat page relies on from the default app (src/app/chat-rooms.ts), driven with the
// client SDK as the page drives it, and the page's who-is-here bookkeeping (web/src/chat/roster.ts).
async function refusedWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HeraldClientError);
    assert.equal(error.code, code);
    return true;
  });
}

describe('chat rooms in the default app', () => {
  let server: RunningHerald;
  const clients: Herald[] = [];
  const connect = (options: HeraldClientOptions = {}): Herald => {
    const herald = new Herald(`${server.wsUrl}/connect`, { minReconnectDelayMs: 50, maxReconnectDelayMs: 300, ...options });
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

  test('a room lists its chatters by the name each page gives, and keeps what was said for newcomers', async () => {
    const ada = connect({ info: { name: 'ada' } });
    const bob = connect({ info: { name: 'bob' } });
    await Promise.all([ada.subscribe('chat:names', () => {}).ready, bob.subscribe('chat:names', () => {}).ready]);
    const present = await ada.presence('chat:names');
    assert.deepEqual(present.map((client) => [client.user, client.info]).sort(), [[null, { name: 'ada' }], [null, { name: 'bob' }]]);
    await ada.publish('chat:names', { user: 'ada', text: 'one' });
    await bob.publish('chat:names', { user: 'bob', text: 'two' });
    const cyd = connect({ info: { name: 'cyd' } });
    await cyd.subscribe('chat:names', () => {}).ready;
    const { publications } = await cyd.history('chat:names', { limit: 50 });
    assert.deepEqual(publications.map((entry) => entry.data), [{ user: 'ada', text: 'one' }, { user: 'bob', text: 'two' }]);
  });

  test('an inbox delivers private messages to every page of that name, and keeps them for recovery', async () => {
    const bob1 = connect();
    const bob2 = connect();
    const got1: unknown[] = [];
    const got2: unknown[] = [];
    const inbox1 = bob1.subscribe('inbox:bob', (data) => got1.push(data));
    await Promise.all([inbox1.ready, bob2.subscribe('inbox:bob', (data) => got2.push(data)).ready]);
    const ada = connect();
    const message = { from: 'ada', to: 'bob', text: 'psst' };
    await ada.publish('inbox:bob', message);
    await waitFor(() => got1.length === 1 && got2.length === 1);
    assert.deepEqual([got1, got2], [[message], [message]]);
    assert.equal(inbox1.position?.offset, 1, 'kept in history, so a reconnect recovers it');
  });

  test('a name in any alphabet has an inbox: the page writes it into the channel name as =XX bytes, within the channel alphabet', async () => {
    assert.equal(inboxChannel('ada'), 'inbox:ada', 'ASCII names keep the inbox they always had');
    assert.equal(inboxChannel('李雷'), 'inbox:=E6=9D=8E=E9=9B=B7');
    assert.equal(encodeNameForChannel('Zoë_1.x-y'), 'Zo=C3=AB_1.x-y');
    assert.notEqual(encodeNameForChannel('a=41'), encodeNameForChannel('aA'), 'no two names share an inbox');
    // The channel alphabet is unchanged: the name itself is still not a channel name.
    const ada = connect();
    await refusedWith(ada.subscribe('inbox:李雷', () => {}).ready, 'HERALD_ERR_BAD_REQUEST');
    const got: unknown[] = [];
    const lilei = connect({ info: { name: '李雷' } });
    await lilei.subscribe(inboxChannel('李雷'), (data) => got.push(data)).ready;
    // The longest name the page accepts (20 characters of 3 UTF-8 bytes each) still fits in 200.
    assert.ok(inboxChannel('雷'.repeat(20)).length <= 200);
    await ada.publish(inboxChannel('李雷'), { from: 'ada', to: '李雷', text: '你好' });
    await waitFor(() => got.length === 1);
    assert.deepEqual(got, [{ from: 'ada', to: '李雷', text: '你好' }]);
  });

  test('task channels accept subscribers but refuse client publishes', async () => {
    const ada = connect();
    await ada.subscribe('task:some-task', () => {}).ready;
    await refusedWith(ada.publish('task:some-task', { type: 'completed', id: 'some-task', result: 'forged' }), 'HERALD_ERR_PERMISSION_DENIED');
  });
});

describe('chat inboxes with authentication configured', () => {
  test('only the signed-in user of that name may read an inbox; any signed-in user may write to it', async () => {
    const server = await startHerald({ jwtSecret: TEST_SECRET, allowAnonymous: true });
    const clients: Herald[] = [];
    const connect = (token?: string): Herald => {
      const herald = new Herald(`${server.wsUrl}/connect`, { token });
      clients.push(herald);
      return herald.connect();
    };
    try {
      const anonymous = connect();
      await refusedWith(anonymous.subscribe('inbox:bob', () => {}).ready, 'HERALD_ERR_PERMISSION_DENIED');
      await refusedWith(anonymous.publish('inbox:bob', { text: 'hi' }), 'HERALD_ERR_PERMISSION_DENIED');
      const ada = connect(await hs256Token('ada'));
      await refusedWith(ada.subscribe('inbox:bob', () => {}).ready, 'HERALD_ERR_PERMISSION_DENIED');
      const bob = connect(await hs256Token('bob'));
      const got: unknown[] = [];
      await bob.subscribe('inbox:bob', (data) => got.push(data)).ready;
      await ada.publish('inbox:bob', { from: 'ada', text: 'signed' });
      await waitFor(() => got.length === 1);
    } finally {
      for (const herald of clients) herald.close();
      await server.close();
    }
  });
});

describe('who is here (the chat page\'s roster)', () => {
  const ada1 = { connection: 'a1', user: null, info: { name: 'ada' } };
  const ada2 = { connection: 'a2', user: null, info: { name: 'ada' } };
  const bob = { connection: 'b1', user: null, info: { name: 'bob' } };
  /** Leave pushes carry no info. */
  const left = (client: { connection: string }) => ({ connection: client.connection, user: null });

  test('a name with two connections stays until the last leaves; arrivals and departures are reported once', () => {
    const roster = new Roster();
    roster.snapshot([]);
    assert.equal(roster.event('join', ada1), 'ada');
    assert.equal(roster.event('join', ada2), undefined);
    assert.equal(roster.event('join', bob), 'bob');
    assert.deepEqual(roster.users, ['ada', 'bob']);
    assert.equal(roster.event('leave', left(ada1)), undefined);
    assert.deepEqual(roster.users, ['ada', 'bob']);
    assert.equal(roster.event('leave', left(ada2)), 'ada');
    assert.deepEqual(roster.users, ['bob']);
    assert.equal(roster.event('join', { connection: 'x', user: null }), undefined, 'a connection without a name is nobody');
    assert.equal(roster.event('join', { connection: 'y', user: 'signed-in' }), 'signed-in', 'an authenticated user goes by its user id');
  });

  test('pushes that arrive while a snapshot is fetched are replayed on top of it', () => {
    const roster = new Roster();
    roster.snapshotRequested();
    roster.event('leave', left(bob)); // bob left after the snapshot was read...
    roster.event('join', ada1); // ...and ada joined before it was read
    roster.snapshot([bob, ada1]);
    assert.deepEqual(roster.users, ['ada']);
  });
});
