import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError, optionsFromEnv, resolveOptions } from '../src/config.ts';
import { startHerald, type RunningHerald } from './support/servers.ts';
import { hs256Token, TEST_SECRET } from './support/tokens.ts';
import { TestClient } from './support/ws-client.ts';

const denied = (action: string, channel: string) => ({ code: 1008, reason: `Not allowed to ${action} ${channel}` });

describe('channel permissions with authentication on', () => {
  let server: RunningHerald;
  let bystander: TestClient;
  const as = async (user: string, claims?: Record<string, unknown>) => `token=${await hs256Token(user, { claims })}`;
  before(async () => {
    server = await startHerald({
      jwtSecret: TEST_SECRET,
      allowAnonymous: true,
      namespaces: {
        staff: { subscribe: 'authenticated', publish: false },
        vip: { subscribe: { claim: 'channels' } },
        board: { subscribe: 'anyone', publish: 'authenticated' },
      },
    });
    bystander = await TestClient.open(`${server.wsUrl}/ws/7?${await as('7')}`);
    bystander.send('hello');
    assert.equal(await bystander.next(), '{"type":"user_event","data":"hello"}');
  });
  after(async () => {
    await server.herald.publish('user:7', 'still here');
    assert.equal(await bystander.next(), '{"type":"user_event","data":"still here"}');
    await bystander.close();
    await server.close();
  });

  test('/ws/{user_id} lets in only the user it names', async () => {
    const owner = await TestClient.open(`${server.wsUrl}/ws/42?${await as('42')}`);
    owner.send('mine');
    assert.equal(await owner.next(), '{"type":"user_event","data":"mine"}');
    const other = await TestClient.open(`${server.wsUrl}/ws/42?${await as('43')}`);
    assert.deepEqual(await other.closed, denied('subscribe to', 'user:42'));
    const anonymous = await TestClient.open(`${server.wsUrl}/ws/42`);
    assert.deepEqual(await anonymous.closed, denied('subscribe to', 'user:42'));
    await owner.close();
  });

  test('a per-user channel cannot be reached through /ws/{channel} either', async () => {
    const other = await TestClient.open(`${server.wsUrl}/ws/user:42?${await as('43')}`);
    assert.deepEqual(await other.closed, denied('subscribe to', 'user:42'));
    const owner = await TestClient.open(`${server.wsUrl}/ws/user:42?${await as('42')}`);
    owner.send('subscribed?'); // the echo proves the subscription is in place
    assert.equal(await owner.next(), '{"type":"user_event","data":"subscribed?"}');
    await server.herald.publish('user:42', { unread: 1 });
    assert.equal(await owner.next(), '{"type":"user_event","data":{"unread":1}}');
    await owner.close();
  });

  test('seed 001 inboxes: /connect_chat?user_code=X needs a token for X', async () => {
    const alice = await TestClient.open(`${server.wsUrl}/connect_chat?user_code=alice&${await as('alice')}`);
    assert.deepEqual(await alice.nextJson(), { type: 'system', msg: 'Welcome to the chat app!', sender: 'system', recipient: 'alice' });
    const impostor = await TestClient.open(`${server.wsUrl}/connect_chat?user_code=alice&${await as('bob')}`);
    assert.deepEqual(await impostor.closed, denied('subscribe to', 'dm:alice'));
    // Nor can anyone read or write an inbox as a raw channel.
    const raw = await TestClient.open(`${server.wsUrl}/ws/dm:alice?${await as('bob')}`);
    assert.deepEqual(await raw.closed, denied('subscribe to', 'dm:alice'));
    const ownRaw = await TestClient.open(`${server.wsUrl}/ws/dm:alice?${await as('alice')}`);
    ownRaw.send('forged private message');
    assert.deepEqual(await ownRaw.nextJson(), { type: 'error', code: 'HERALD_ERR_PERMISSION_DENIED', message: 'Not allowed to publish to dm:alice' });
    assert.equal(await alice.silentFor(150), true);
    await Promise.all([alice.close(), ownRaw.close()]);
  });

  test('"authenticated" channels refuse anonymous sockets; publish: false gives publishers an error frame', async () => {
    const anonymous = await TestClient.open(`${server.wsUrl}/ws/staff:room`);
    assert.deepEqual(await anonymous.closed, denied('subscribe to', 'staff:room'));
    const member = await TestClient.open(`${server.wsUrl}/ws/staff:room?${await as('sam')}`);
    member.send('may I?');
    assert.deepEqual(await member.nextJson(), { type: 'error', code: 'HERALD_ERR_PERMISSION_DENIED', message: 'Not allowed to publish to staff:room' });
    // Server code is trusted, and the socket is still subscribed.
    await server.herald.publish('staff:room', 'from the server');
    assert.equal(await member.next(), 'from the server');
    await member.close();
  });

  test('a publish rule of its own: anyone reads board:*, only authenticated users write', async () => {
    const reader = await TestClient.open(`${server.wsUrl}/ws/board:main`);
    const writer = await TestClient.open(`${server.wsUrl}/ws/board:main?${await as('wes')}`);
    reader.send('anonymous post');
    assert.deepEqual(await reader.nextJson(), { type: 'error', code: 'HERALD_ERR_PERMISSION_DENIED', message: 'Not allowed to publish to board:main' });
    writer.send('signed post');
    assert.equal(await reader.next(), 'signed post');
    assert.equal(await writer.next(), 'signed post');
    await Promise.all([reader.close(), writer.close()]);
  });

  test('claim channels: the JWT claim lists the channel or a prefix ending in *', async () => {
    const exact = await TestClient.open(`${server.wsUrl}/ws/vip:lounge?${await as('v1', { channels: ['vip:lounge'] })}`);
    const prefix = await TestClient.open(`${server.wsUrl}/ws/vip:lounge?${await as('v2', { channels: ['news', 'vip:*'] })}`);
    prefix.send('welcome'); // members may publish; the echo also proves both are subscribed
    assert.equal(await exact.next(), 'welcome');
    assert.equal(await prefix.next(), 'welcome');
    for (const claims of [{ channels: ['vip:other'] }, { channels: 'vip:lounge' }, {}]) {
      const refused = await TestClient.open(`${server.wsUrl}/ws/vip:lounge?${await as('v3', claims)}`);
      assert.deepEqual(await refused.closed, denied('subscribe to', 'vip:lounge'), JSON.stringify(claims));
    }
    assert.ok((server.herald.stats().refusals['permission-denied'] ?? 0) >= 3);
    await Promise.all([exact.close(), prefix.close()]);
  });

  test('history and presence reads follow the subscribe rule unless set: a per-user channel is private', () => {
    const permissions = server.herald.permissions;
    const user42 = { user: '42', claims: undefined };
    const user43 = { user: '43', claims: undefined };
    assert.equal(permissions.authorizeHistory(user42, 'user:42'), undefined);
    assert.equal(permissions.authorizePresence(user42, 'user:42'), undefined);
    assert.equal(permissions.authorizeHistory(user43, 'user:42')?.code, 'HERALD_ERR_PERMISSION_DENIED');
    assert.equal(permissions.authorizePresence(user43, 'user:42')?.message, 'Not allowed to read the presence of user:42');
    assert.equal(permissions.authorizeSubscribe(user42, 'bad name!')?.code, 'HERALD_ERR_BAD_REQUEST');
    server.herald.namespace('audit', { subscribe: 'anyone', readHistory: 'owner', readPresence: { claim: 'auditors' } });
    assert.equal(permissions.authorizeSubscribe(user43, 'audit:42'), undefined);
    assert.equal(permissions.authorizeHistory(user43, 'audit:42')?.code, 'HERALD_ERR_PERMISSION_DENIED');
    assert.equal(permissions.authorizePresence({ user: '9', claims: { auditors: ['audit:*'] } }, 'audit:42'), undefined);
  });
});

describe('channel permissions without authentication', () => {
  test('the default app stays an open demo: any socket may be any user', async () => {
    const server = await startHerald();
    try {
      const a = await TestClient.open(`${server.wsUrl}/ws/42`);
      const b = await TestClient.open(`${server.wsUrl}/ws/user:42`);
      a.send('open');
      assert.equal(await b.next(), '{"type":"user_event","data":"open"}');
      await Promise.all([a.close(), b.close()]);
    } finally {
      await server.close();
    }
  });

  test('namespace rules from HERALD_NAMESPACES are validated at start-up', () => {
    const options = resolveOptions(optionsFromEnv({ HERALD_NAMESPACES: '{"chat": {"subscribe": "authenticated", "publish": false}}' }));
    assert.deepEqual(options.namespaces, { chat: { subscribe: 'authenticated', publish: false } });
    assert.throws(() => optionsFromEnv({ HERALD_NAMESPACES: '{nope' }), ConfigError);
    assert.throws(() => resolveOptions(optionsFromEnv({ HERALD_NAMESPACES: '{"chat": {"subscribe": "everyone"}}' })), {
      message: 'namespaces.chat.subscribe must be "anyone", "authenticated", "owner" or {"claim": "<name>"}',
    });
    assert.throws(() => resolveOptions({ namespaces: { chat: { subscrbe: 'anyone' } as never } }), {
      message: 'namespaces.chat.subscrbe is not a permission option (subscribe, publish, readHistory, readPresence, sender)',
    });
    assert.deepEqual(resolveOptions(optionsFromEnv({ HERALD_NAMESPACES: '{"notes": {"sender": "author"}}' })).namespaces, { notes: { sender: 'author' } });
    assert.throws(() => resolveOptions(optionsFromEnv({ HERALD_NAMESPACES: '{"notes": {"sender": 5}}' })), {
      message: 'namespaces.notes.sender must be the name of a field, e.g. "from"',
    });
  });

  test('configured rules win over the app defaults for the same namespace', async () => {
    const server = await startHerald({ jwtSecret: TEST_SECRET, namespaces: { user: { subscribe: 'anyone' } } });
    try {
      const other = await TestClient.open(`${server.wsUrl}/ws/42?token=${await hs256Token('43')}`);
      other.send('allowed by configuration');
      assert.equal(await other.next(), '{"type":"user_event","data":"allowed by configuration"}');
      await other.close();
    } finally {
      await server.close();
    }
  });
});
