import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { settingsFromEnv } from '../src/config-env.ts';
import { ConfigError } from '../src/config.ts';
import { createHerald } from '../src/herald.ts';

describe('Pusher apps from the configuration', () => {
  test('HERALD_PUSHER_APPS is a JSON array of apps', () => {
    const apps = [{ id: '1001', key: 'app-key', secret: 'app-secret', clientEvents: true, limits: { maxConnections: 5 } }];
    assert.deepEqual(settingsFromEnv({ HERALD_PUSHER_APPS: JSON.stringify(apps) }).pusherApps, apps);
  });

  test('a value that is not JSON, or an app without its secret, stops the start with a message naming the variable', () => {
    assert.throws(() => settingsFromEnv({ HERALD_PUSHER_APPS: 'app-key:app-secret' }), (error: unknown) => error instanceof ConfigError && /^HERALD_PUSHER_APPS must be JSON/.test(error.message));
    assert.throws(() => settingsFromEnv({ HERALD_PUSHER_APPS: '[{"id": "1", "key": "k"}]' }), (error: unknown) => error instanceof ConfigError && /HERALD_PUSHER_APPS/.test(error.message));
    assert.throws(() => settingsFromEnv({ HERALD_PUSHER_APPS: '[{"id": "has space", "key": "k", "secret": "long enough"}]' }), (error: unknown) => error instanceof ConfigError && /HERALD_PUSHER_APPS/.test(error.message));
  });

  test('an app may list webhook URLs, each with the Pusher events it wants; another event name or a URL that is not http(s) is refused', () => {
    const apps = [{ id: '1001', key: 'app-key', secret: 'app-secret', webhooks: [{ url: 'https://app.example.com/pusher/webhook' }, { url: 'http://10.0.0.2/hooks', events: ['member_added', 'client_event'] }] }];
    assert.deepEqual(settingsFromEnv({ HERALD_PUSHER_APPS: JSON.stringify(apps) }).pusherApps, apps);
    const refusal = (webhook: unknown): string => {
      try {
        settingsFromEnv({ HERALD_PUSHER_APPS: JSON.stringify([{ id: '1', key: 'k', secret: 'long enough', webhooks: [webhook] }]) });
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error.message;
      }
      assert.fail('accepted');
    };
    assert.equal(
      refusal({ url: 'https://app.example.com/hooks', events: ['channel.occupied'] }),
      'HERALD_PUSHER_APPS: [0].webhooks[0].events[0] must be equal to one of the allowed values (channel_occupied, channel_vacated, member_added, member_removed, client_event)',
    );
    assert.equal(refusal({ url: 'https://app.example.com/hooks', events: [] }), 'HERALD_PUSHER_APPS: [0].webhooks[0].events must NOT have fewer than 1 items');
    assert.equal(refusal({ url: 'ftp://app.example.com/hooks' }), 'HERALD_PUSHER_APPS: [0].webhooks[0].url must match pattern "^https?://\\S+$"');
    assert.equal(refusal({ url: 'https://app.example.com/hooks', secret: 'the app secret signs them' }), 'HERALD_PUSHER_APPS: [0].webhooks[0].secret is not an option here');
    assert.equal(refusal('https://app.example.com/hooks'), 'HERALD_PUSHER_APPS: [0].webhooks[0] must be object');
  });

  test('a value that is not an array of apps says what is expected', () => {
    assert.throws(() => settingsFromEnv({ HERALD_PUSHER_APPS: '{"id": "1"}' }), { message: 'HERALD_PUSHER_APPS must be a JSON array of apps, each {"id", "key", "secret", …}' });
  });

  test('the secret is never repeated in an error', () => {
    assert.throws(
      () => settingsFromEnv({ HERALD_PUSHER_APPS: '[{"id": "1", "key": "k", "secret": "short"}]' }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes('short'),
    );
  });

  test('two apps with one id or one key are refused', () => {
    assert.throws(
      () => createHerald({ logLevel: 'silent', pusherApps: [{ id: '1', key: 'a', secret: 'secret-one' }, { id: '1', key: 'b', secret: 'secret-two' }] }),
      (error: unknown) => error instanceof ConfigError && error.message === 'pusherApps: the app id "1" is used twice',
    );
    assert.throws(
      () => createHerald({ logLevel: 'silent', pusherApps: [{ id: '1', key: 'a', secret: 'secret-one' }, { id: '2', key: 'a', secret: 'secret-two' }] }),
      (error: unknown) => error instanceof ConfigError && error.message === 'pusherApps: the app key "a" is used twice',
    );
  });
});
