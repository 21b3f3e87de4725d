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
