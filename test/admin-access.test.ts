import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createHerald } from '../src/index.ts';
import { httpFrom } from './support/http-from.ts';
import { startHerald, type RunningHerald } from './support/servers.ts';
import { hs256Token, TEST_SECRET } from './support/tokens.ts';

const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

describe('admin tokens: a JWT with the admin claim opens what the API key opens', () => {
  let claimOnly: RunningHerald;
  let both: RunningHerald;
  let admin: string;
  let plainUser: string;
  let stringClaim: string;
  before(async () => {
    // claimOnly trusts 127.0.0.1 as a proxy, so a forwarded address makes a request come from afar.
    claimOnly = await startHerald({ jwtSecret: TEST_SECRET, adminClaim: 'admin', trustProxy: ['127.0.0.1'] });
    both = await startHerald({ jwtSecret: TEST_SECRET, adminClaim: 'admin', apiKey: 'the-api-key' });
    admin = await hs256Token('ops-1', { claims: { admin: true } });
    plainUser = await hs256Token('alice');
    stringClaim = await hs256Token('mallory', { claims: { admin: 'true' } });
  });
  after(async () => {
    await Promise.all([claimOnly?.close(), both?.close()]);
  });

  test('without an API key: admin commands need an admin token, even from this machine', async () => {
    const search = `${claimOnly.url}/api/admin/channels?prefix=`;
    const local = await httpFrom(search);
    assert.equal(local.status, 401);
    assert.equal(local.body.error.code, 'HERALD_ERR_UNAUTHORIZED');
    const notAdmin = await httpFrom(search, { headers: bearer(plainUser) });
    assert.equal(notAdmin.status, 403);
    assert.equal(notAdmin.body.error.code, 'HERALD_ERR_FORBIDDEN');
    assert.match(notAdmin.body.error.message, /admin claim is not true/);
    assert.equal((await httpFrom(search, { headers: bearer(stringClaim) })).status, 403, 'only the boolean true counts');
    assert.deepEqual(await httpFrom(search, { headers: bearer(admin) }), { status: 200, body: { channels: [], nodes: { answered: 0, expected: 0 } } });
    const disconnect = await httpFrom(`${claimOnly.url}/api/admin/disconnect`, { method: 'POST', body: { user: 'bob' }, headers: bearer(admin) });
    assert.deepEqual(disconnect, { status: 200, body: { ok: true } });
  });

  test('without an API key: a remote client gets into /api/* with an admin token only', async () => {
    const remote = { 'x-forwarded-for': '203.0.113.7' };
    const publish = { channel: 'news', data: 'hi' };
    const refused = await httpFrom(`${claimOnly.url}/api/publish`, { body: publish, headers: remote });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'HERALD_ERR_FORBIDDEN');
    const expired = await hs256Token('ops-1', { claims: { admin: true }, expiresInSeconds: -10 });
    const stale = await httpFrom(`${claimOnly.url}/api/publish`, { body: publish, headers: { ...remote, ...bearer(expired) } });
    assert.equal(stale.status, 401);
    assert.equal(stale.body.error.code, 'HERALD_ERR_TOKEN_EXPIRED');
    assert.equal((await httpFrom(`${claimOnly.url}/api/publish`, { body: publish, headers: { ...remote, ...bearer(plainUser) } })).status, 403);
    const nodes = await httpFrom(`${claimOnly.url}/api/nodes`, { headers: { ...remote, ...bearer(admin) } });
    assert.equal(nodes.status, 200);
    assert.equal(nodes.body.nodes.length, 1);
    assert.deepEqual(await httpFrom(`${claimOnly.url}/api/publish`, { body: publish, headers: { ...remote, ...bearer(admin) } }), { status: 200, body: { ok: true } });
    assert.equal((await httpFrom(`${claimOnly.url}/admin`, { headers: remote })).status, 200, 'the page itself holds no secret');
  });

  test('with an API key too: either credential works, a user token does not', async () => {
    const publish = { channel: 'news', data: 'hi' };
    assert.deepEqual(await httpFrom(`${both.url}/api/publish`, { body: publish, headers: bearer('the-api-key') }), { status: 200, body: { ok: true } });
    assert.deepEqual(await httpFrom(`${both.url}/api/publish`, { body: publish, headers: bearer(admin) }), { status: 200, body: { ok: true } });
    const user = await httpFrom(`${both.url}/api/publish`, { body: publish, headers: bearer(plainUser) });
    assert.equal(user.status, 403);
    const none = await httpFrom(`${both.url}/api/publish`, { body: publish });
    assert.equal(none.status, 401);
    assert.match(none.body.error.message, /API key or an admin token/);
    assert.equal((await httpFrom(`${both.url}/metrics`, { headers: bearer(admin) })).status, 200);
  });

  test('an admin claim needs a JWT key to verify it; without either setting admin is closed', async () => {
    assert.throws(() => createHerald({ adminClaim: 'admin', logLevel: 'silent' }), /adminClaim \(HERALD_ADMIN_CLAIM\) needs jwtSecret/);
    const closed = await startHerald({ jwtSecret: TEST_SECRET });
    try {
      const page = await httpFrom(`${closed.url}/admin`);
      assert.equal(page.status, 404);
      assert.match(page.body.error.message, /HERALD_API_KEY or HERALD_ADMIN_CLAIM/);
      const search = await httpFrom(`${closed.url}/api/admin/channels`, { headers: bearer(admin) });
      assert.equal(search.status, 404);
    } finally {
      await closed.close();
    }
  });
});
