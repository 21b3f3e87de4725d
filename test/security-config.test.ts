import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { ConfigError, optionsFromEnv, resolveOptions } from '../src/config.ts';
import { createHerald } from '../src/herald.ts';

// Security settings are checked once at start-up, with messages that name the setting and never
// echo a secret.
describe('security configuration', () => {
  test('environment variables are read into options', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const options = resolveOptions(
      optionsFromEnv({
        HERALD_JWT_PUBLIC_KEY: pem.replace(/\n/g, '\\n'),
        HERALD_JWT_ALGORITHMS: 'ES256',
        HERALD_ALLOW_ANONYMOUS: 'true',
        HERALD_ALLOWED_ORIGINS: 'https://a.example, https://*.b.example',
        HERALD_MAX_MESSAGES_PER_SECOND: '0',
        HERALD_MAX_SUBSCRIPTIONS: '5',
        HERALD_MAX_CONNECTIONS_PER_IP: '0',
        HERALD_MAX_BODY_BYTES: '4096',
        HERALD_DEMO_TOKEN: 'demo',
      }),
    );
    assert.equal(options.jwtPublicKey, pem);
    assert.deepEqual(options.jwtAlgorithms, ['ES256']);
    assert.equal(options.allowAnonymous, true);
    assert.deepEqual(options.allowedOrigins, ['https://a.example', 'https://*.b.example']);
    assert.equal(options.maxMessagesPerSecond, 0);
    assert.equal(options.maxSubscriptionsPerConnection, 5);
    assert.equal(options.maxConnectionsPerIp, 0);
    assert.equal(options.maxBodyBytes, 4096);
    assert.equal(options.demoToken, 'demo');
    assert.equal(createHerald({ ...options, port: 0, logLevel: 'silent' }).authenticationConfigured, true);
  });

  test('bad values stop the server with a message naming the setting', () => {
    const secret = 'a-perfectly-fine-secret-of-enough-length!';
    const cases: Array<[() => unknown, string]> = [
      [() => optionsFromEnv({ HERALD_ALLOW_ANONYMOUS: 'maybe' }), 'HERALD_ALLOW_ANONYMOUS must be true or false, got "maybe"'],
      [() => resolveOptions({ jwtSecret: secret, jwtJwksUrl: 'https://id.example/jwks' }), 'Set only one of jwtSecret, jwtPublicKey and jwtJwksUrl'],
      [() => resolveOptions({ jwtSecret: secret, jwtAlgorithms: ['RS256'] }), 'jwtAlgorithms: "RS256" is not usable here; allowed: HS256'],
      [() => resolveOptions({ jwtJwksUrl: 'https://id.example/jwks', jwtAlgorithms: ['none'] }), 'jwtAlgorithms: "none" is not usable here; allowed: RS256, ES256'],
      [() => resolveOptions({ jwtAlgorithms: ['HS256'] }), 'jwtAlgorithms needs jwtSecret, jwtPublicKey or jwtJwksUrl'],
      [() => resolveOptions({ jwtJwksUrl: 'file:///etc/keys' }), 'jwtJwksUrl must be an http(s) URL, got "file:///etc/keys"'],
      [() => resolveOptions({ allowedOrigins: ['app.example.com'] }), 'allowedOrigins: "app.example.com" must look like https://app.example.com or https://*.example.com'],
      [() => resolveOptions({ maxSubscriptionsPerConnection: 0 }), 'maxSubscriptionsPerConnection must be a whole number from 1 to 1000000, got 0'],
      [() => createHerald({ jwtPublicKey: 'not a key SECRET' }), 'jwtPublicKey (HERALD_JWT_PUBLIC_KEY) is not a PEM public key'],
    ];
    for (const [attempt, message] of cases) {
      assert.throws(attempt, (error: unknown) => {
        assert.ok(error instanceof ConfigError, message);
        assert.equal(error.message, message);
        assert.ok(!error.message.includes(secret) && !error.message.includes('SECRET'));
        return true;
      });
    }
  });

  test('a key of one family pins its algorithm: an RSA key with jwtAlgorithms ES256 is refused', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.throws(() => createHerald({ jwtPublicKey: pem, jwtAlgorithms: ['ES256'] }), {
      message: 'jwtAlgorithms does not include RS256, the only one this key can verify',
    });
  });
});
