import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError, resolveOptions } from '../src/config.ts';
import { postJson, spawnHerald, startHerald, type RunningHerald } from './support/servers.ts';
import { hs256Token } from './support/tokens.ts';
import { TestClient } from './support/ws-client.ts';

describe('HTTP API: body limit and schema validation', () => {
  let server: RunningHerald;
  let bystander: TestClient;
  before(async () => {
    server = await startHerald({ maxBodyBytes: 2048 });
    bystander = await TestClient.open(`${server.wsUrl}/ws/api-news`);
    bystander.send('subscribed?');
    assert.equal(await bystander.next(), 'subscribed?');
  });
  after(async () => {
    assert.deepEqual((await postJson(`${server.url}/api/publish`, { channel: 'api-news', data: 'still here' })).body, { ok: true });
    assert.equal(await bystander.next(), 'still here');
    await bystander.close();
    await server.close();
  });

  test('a body over maxBodyBytes is answered 413 with a JSON reason', async () => {
    const reply = await postJson(`${server.url}/api/publish`, { channel: 'api-news', data: 'x'.repeat(3000) });
    assert.equal(reply.status, 413);
    assert.deepEqual(reply.body, { ok: false, error: { code: 'HERALD_ERR_BODY_TOO_LARGE', message: 'The request body is larger than the limit' } });
  });

  test('bodies that fail the schema, or are not JSON, are answered 400 with a JSON reason', async () => {
    const cases: unknown[] = [{ channel: 5, data: 1 }, { channel: 'api-news' }, { data: 1 }, [], 'null', { channel: '', data: 1 }, { channel: 'bad name!', data: 1 }, '{"channel": "api-news", "data": '];
    for (const body of cases) {
      const reply = await postJson(`${server.url}/api/publish`, body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.equal(reply.body.ok, false);
      assert.match(reply.body.error.code, /^(HERALD_ERR_BAD_REQUEST|FST_ERR_CTP_INVALID_JSON_BODY|FST_ERR_CTP_EMPTY_JSON_BODY)$/, JSON.stringify(body));
      assert.equal(typeof reply.body.error.message, 'string');
    }
    // Data too deeply nested to re-encode is refused, not a 500.
    const deep = `{"channel":"api-news","data":${'['.repeat(1000)}${']'.repeat(1000)}}`;
    const big = await startHerald({ maxBodyBytes: 1024 * 1024 });
    try {
      const veryDeep = `{"channel":"api-news","data":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
      const reply = await postJson(`${big.url}/api/publish`, veryDeep);
      assert.equal(reply.status, 400);
      assert.deepEqual(reply.body.error, { code: 'HERALD_ERR_BAD_REQUEST', message: 'Published data cannot be encoded as JSON (nested too deeply?)' });
    } finally {
      await big.close();
    }
    assert.deepEqual((await postJson(`${server.url}/api/publish`, deep)).body, { ok: true });
    assert.equal(await bystander.next(), '['.repeat(1000) + ']'.repeat(1000));
  });

  test('a body of another content type is answered 415, a text body 400', async () => {
    const xml = await fetch(`${server.url}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<a/>' });
    assert.equal(xml.status, 415);
    assert.equal(((await xml.json()) as { ok: boolean }).ok, false);
    const text = await fetch(`${server.url}/api/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal(text.status, 400);
    assert.equal(((await text.json()) as { error: { code: string } }).error.code, 'HERALD_ERR_BAD_REQUEST');
  });
});

describe('no secret in a log line', () => {
  test('API keys, tokens in headers, query parameters and cookies never reach the log, even at trace level', async () => {
    const apiKey = 'apikey-SECRET-0001';
    const jwtSecret = 'jwt-SECRET-0002-long-enough-for-hs256-signing';
    const server = await spawnHerald({
      LOG_LEVEL: 'trace',
      HERALD_API_KEY: apiKey,
      HERALD_JWT_SECRET: jwtSecret,
      HERALD_DEMO_TOKEN: 'demo-SECRET-0003',
      HERALD_ALLOW_ANONYMOUS: 'true',
    });
    const token = await hs256Token('u1', { secret: jwtSecret });
    const secrets = [apiKey, jwtSecret, 'demo-SECRET-0003', token, 'guess-SECRET-0004', 'query-SECRET-0005', 'cookie-SECRET-0006', 'ws-SECRET-0007'];
    try {
      assert.equal((await postJson(`${server.url}/api/publish`, { channel: 'n', data: 1 }, { authorization: `Bearer ${apiKey}` })).status, 200);
      assert.equal((await postJson(`${server.url}/api/publish`, { channel: 'n', data: 1 }, { authorization: 'Bearer guess-SECRET-0004' })).status, 401);
      assert.equal((await fetch(`${server.url}/api/stats?token=query-SECRET-0005&api_key=${apiKey}`)).status, 401);
      const notFound = await fetch(`${server.url}/nowhere?access_token=${token}`, { headers: { cookie: 'token=cookie-SECRET-0006' } });
      assert.equal(notFound.status, 404);
      assert.ok(!(await notFound.text()).includes(token), 'the 404 body does not echo the token either');
      assert.equal((await fetch(`${server.url}/healthz?token=${token}`, { headers: { cookie: `token=${token}` } })).status, 200);
      const authenticated = await TestClient.open(`${server.wsUrl}/ws/n?token=${token}`);
      const refused = await TestClient.open(`${server.wsUrl}/ws/n?token=ws-SECRET-0007`);
      assert.equal((await refused.closed).code, 1008);
      const secure = await TestClient.open(`${server.wsUrl}/echo/secure?username=a`, { headers: { cookie: 'token=demo-SECRET-0003' } });
      assert.equal(await secure.next(), 'Hello, a!');
      const wrongDemo = await TestClient.open(`${server.wsUrl}/echo/secure?username=a`, { headers: { cookie: 'token=guess-SECRET-0004' } });
      await wrongDemo.closed;
      await Promise.all([authenticated.close(), secure.close()]);
    } finally {
      await server.stop();
    }
    const output = server.output();
    // The requests were logged (with their URLs masked)...
    assert.match(output, /"url":"\/api\/stats\?token=\[REDACTED\]&api_key=\[REDACTED\]"/);
    assert.match(output, /"url":"\/healthz\?token=\[REDACTED\]"/);
    // ...and no secret appears anywhere.
    for (const secret of secrets) assert.ok(!output.includes(secret), `log output contains ${secret.slice(0, 12)}…`);
  });

  test('configuration errors name the setting, never its value', () => {
    assert.throws(() => resolveOptions({ jwtSecret: 'short-SECRET' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, 'jwtSecret (HERALD_JWT_SECRET) must be at least 32 characters long');
      return true;
    });
  });
});
