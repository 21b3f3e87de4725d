import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asUser, installProtocolTestApp, protocolTestOptions } from './support/protocol-app.ts';
import { ProtocolClient } from './support/protocol-client.ts';
import { startHerald, type RunningHerald } from './support/servers.ts';

const TOO_MANY = { code: 'HERALD_ERR_TOO_MANY_SUBSCRIPTIONS', message: 'At most 3 subscriptions per connection' };

// A signed-in /connect connection also listens on its user's `#user:` inbox, which the server
// subscribes for it: that subscription must not use up one of the client's own.
describe('reserved subscriptions and HERALD_MAX_SUBSCRIPTIONS', () => {
  let server: RunningHerald;
  before(async () => {
    server = await startHerald({ ...protocolTestOptions, maxSubscriptionsPerConnection: 3 }, installProtocolTestApp);
  });
  after(() => server.close());

  test('a signed-in connection may subscribe to as many channels as an anonymous one, and keeps its inbox', async () => {
    const alice = await ProtocolClient.open(`${server.wsUrl}/connect${await asUser('alice')}`);
    const anonymous = await ProtocolClient.open(`${server.wsUrl}/connect`);
    assert.equal(alice.welcome.user, 'alice');
    for (const client of [alice, anonymous]) {
      for (const channel of ['plain:one', 'plain:two', 'plain:three']) {
        assert.deepEqual((await client.request({ op: 'subscribe', channel })).result, { channel, recoverable: false });
      }
      assert.deepEqual((await client.request({ op: 'subscribe', channel: 'plain:four' })).error, TOO_MANY);
    }
    const bob = await ProtocolClient.open(`${server.wsUrl}/connect${await asUser('bob')}`);
    assert.deepEqual((await bob.request({ op: 'send', user: 'alice', data: 'hi' })).result, { user: 'alice', live: true, stored: false, online: true });
    assert.deepEqual(await alice.push(), { type: 'message', from: 'bob', data: 'hi' });
    await Promise.all([alice.close(), anonymous.close(), bob.close()]);
  });
});
