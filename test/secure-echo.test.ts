import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

// Seed 002's secured echo: the `token` cookie must equal HERALD_DEMO_TOKEN.
describe('seed 002: /echo/secure', () => {
  let server: RunningHerald;
  let bystander: TestClient;
  before(async () => {
    server = await startHerald({ demoToken: 'demo-secret' });
    bystander = await TestClient.open(`${server.wsUrl}/echo`);
  });
  after(async () => {
    // The plain echo socket connected all along still answers.
    bystander.send('still here');
    assert.equal(await bystander.next(), 'Message text was: still here');
    await bystander.close();
    await server.close();
  });

  test('with the demo token cookie it greets "Hello, X!" and echoes "Message text was: <text>"', async () => {
    const client = await TestClient.open(`${server.wsUrl}/echo/secure?username=Ann`, { headers: { Cookie: 'token=demo-secret' } });
    assert.equal(await client.next(), 'Hello, Ann!');
    client.send('hi');
    client.send('there');
    assert.deepEqual(await client.take(2), ['Message text was: hi', 'Message text was: there']);
    await client.close();
  });

  test('a missing or wrong token cookie closes with 1008 and says which', async () => {
    const missing = await TestClient.open(`${server.wsUrl}/echo/secure?username=Ann`);
    assert.deepEqual(await missing.closed, { code: 1008, reason: 'Missing token cookie' });
    const wrong = await TestClient.open(`${server.wsUrl}/echo/secure?username=Ann`, { headers: { Cookie: 'token=guess' } });
    assert.deepEqual(await wrong.closed, { code: 1008, reason: 'Wrong token' });
    // A token in the query is not the seed's cookie.
    const inQuery = await TestClient.open(`${server.wsUrl}/echo/secure?username=Ann&token=demo-secret`);
    assert.deepEqual(await inQuery.closed, { code: 1008, reason: 'Missing token cookie' });
  });

  test('a missing username closes with 1008', async () => {
    const client = await TestClient.open(`${server.wsUrl}/echo/secure`, { headers: { Cookie: 'token=demo-secret' } });
    assert.deepEqual(await client.closed, { code: 1008, reason: 'username is required' });
  });

  test('with no HERALD_DEMO_TOKEN configured the route refuses everyone', async () => {
    const unconfigured = await startHerald();
    try {
      const client = await TestClient.open(`${unconfigured.wsUrl}/echo/secure?username=Ann`, { headers: { Cookie: 'token=' } });
      assert.deepEqual(await client.closed, { code: 1008, reason: 'Secured echo is off: the server has no HERALD_DEMO_TOKEN' });
    } finally {
      await unconfigured.close();
    }
  });
});
