import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { REDIS_URL, startHerald, uniquePrefix, type RunningHerald } from './support/servers.ts';
import { asUser, installProtocolTestApp, protocolTestOptions } from './support/protocol-app.ts';
import { ProtocolClient } from './support/protocol-client.ts';
import { hs256Token } from './support/tokens.ts';

// Regression: an anonymous /connect connection that signed in through `refresh` never subscribed to
// its user's private-message channel. Identity gained by refresh now gives what identity at connect
// gives. Two processes over the real Redis, so the private message crosses processes.
describe('identity gained through refresh', () => {
  let a: RunningHerald;
  let b: RunningHerald;
  before(async () => {
    const options = { ...protocolTestOptions, redisUrl: REDIS_URL, redisPrefix: uniquePrefix() };
    [a, b] = await Promise.all([startHerald(options, installProtocolTestApp), startHerald(options, installProtocolTestApp)]);
  });
  after(() => Promise.all([a.close(), b.close()]));

  test('an anonymous connection that refreshes into a user receives that user\'s private messages and may send them', async () => {
    const alice = await ProtocolClient.open(`${a.wsUrl}/connect`);
    assert.equal(alice.welcome.user, null);
    const bob = await ProtocolClient.open(`${b.wsUrl}/connect${await asUser('bob')}`);
    assert.deepEqual(await bob.request({ op: 'send', user: 'alice', data: 'before' }), { type: 'reply', id: 1, result: { user: 'alice', live: false, stored: false, online: false } });

    const refreshed = await alice.request({ op: 'refresh', token: await hs256Token('alice') });
    assert.deepEqual(refreshed, { type: 'reply', id: 1, result: { user: 'alice', expiresAt: refreshed.result.expiresAt } });
    assert.deepEqual(await bob.request({ op: 'send', user: 'alice', data: 'after' }), { type: 'reply', id: 2, result: { user: 'alice', live: true, stored: false, online: true } });
    assert.deepEqual(await alice.push(), { type: 'message', from: 'bob', data: 'after' });
    // And it sends as alice.
    assert.deepEqual(await alice.request({ op: 'send', user: 'bob', data: 'hi bob' }), { type: 'reply', id: 2, result: { user: 'bob', live: true, stored: false, online: true } });
    assert.deepEqual(await bob.push(), { type: 'message', from: 'alice', data: 'hi bob' });
    await Promise.all([alice.close(), bob.close()]);
  });

  test('presence entries written while anonymous name the user after the refresh, announced by a join push', async () => {
    const carol = await ProtocolClient.open(`${a.wsUrl}/connect`);
    const watcher = await ProtocolClient.open(`${b.wsUrl}/connect`);
    const connection = carol.welcome.connection;
    await watcher.request({ op: 'subscribe', channel: 'room:refresh' });
    assert.equal((await watcher.push()).client.connection, watcher.welcome.connection, 'its own join');
    await carol.request({ op: 'subscribe', channel: 'room:refresh', info: { color: 'red' } });
    assert.deepEqual(await watcher.push(), { type: 'join', channel: 'room:refresh', client: { connection, user: null, info: { color: 'red' } } });
    await carol.request({ op: 'refresh', token: await hs256Token('carol') });
    assert.deepEqual(await watcher.push(), { type: 'join', channel: 'room:refresh', client: { connection, user: 'carol', info: { color: 'red' } } });
    const presence = await watcher.request({ op: 'presence', channel: 'room:refresh' });
    const clients = (presence.result.clients as Array<{ connection: string }>).filter((client) => client.connection === connection);
    assert.deepEqual(clients, [{ connection, user: 'carol', info: { color: 'red' } }]);
    await Promise.all([carol.close(), watcher.close()]);
  });

  test('a refresh naming another user is refused and changes nothing', async () => {
    const dave = await ProtocolClient.open(`${a.wsUrl}/connect${await asUser('dave')}`);
    assert.deepEqual((await dave.request({ op: 'refresh', token: await hs256Token('eve') })).error, {
      code: 'HERALD_ERR_TOKEN_INVALID',
      message: 'Invalid token: it names another user',
    });
    const eve = await ProtocolClient.open(`${b.wsUrl}/connect${await asUser('eve')}`);
    assert.deepEqual((await eve.request({ op: 'send', user: 'dave', data: 'still dave?' })).result, { user: 'dave', live: true, stored: false, online: true });
    assert.deepEqual(await dave.push(), { type: 'message', from: 'eve', data: 'still dave?' });
    await Promise.all([dave.close(), eve.close()]);
  });
});
