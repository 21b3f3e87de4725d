import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, exportJWK, SignJWT } from 'jose';
import { installDefaultApp } from '../src/app/default-app.ts';
import type { HeraldOptions } from '../src/config.ts';
import type { Herald } from '../src/herald.ts';
import { Herald as HeraldClient } from '../client/node.ts';
import { startHerald, waitFor, type RunningHerald } from './support/servers.ts';
import { hs256Token, TEST_SECRET, unsignedToken } from './support/tokens.ts';
import { TestClient } from './support/ws-client.ts';

/** The default app plus two probes: who am I, and refresh my token. */
function installProbes(herald: Herald): void {
  installDefaultApp(herald);
  herald.socket('/whoami', (socket) => {
    socket.send({ user: socket.user ?? null, role: socket.claims?.role ?? null });
  });
  herald.socket('/refreshable', (socket) => {
    socket.onMessage(async (token) => {
      try {
        await socket.refreshToken(token);
        socket.send({ refreshed: socket.user, expiresAt: socket.tokenExpiresAt });
      } catch (error) {
        socket.send({ error: (error as { code: string }).code, message: (error as Error).message });
      }
    });
  });
  herald.socket('/strict', (socket) => socket.send('in'), { authentication: 'required' });
}

async function start(options: HeraldOptions): Promise<RunningHerald> {
  return startHerald(options, installProbes);
}

/** A client subscribed to `channel` for the whole test, proving the server kept working. */
async function bystander(server: RunningHerald, token: string): Promise<{ check(): Promise<void>; close(): Promise<unknown> }> {
  const channel = `bystander-${Math.random().toString(36).slice(2)}`;
  const client = await TestClient.open(`${server.wsUrl}/ws/${channel}?token=${token}`);
  client.send('subscribed?'); // the echo proves the subscription is in place
  assert.equal(await client.next(), 'subscribed?');
  let n = 0;
  return {
    async check() {
      n++;
      await server.herald.publish(channel, `still here ${n}`);
      assert.equal(await client.next(), `still here ${n}`);
    },
    close: () => client.close(),
  };
}

async function refusedWith(url: string, options?: ConstructorParameters<typeof TestClient>[1]): Promise<{ code: number; reason: string }> {
  const client = await TestClient.open(url, options);
  return client.closed;
}

describe('connection authentication with an HS256 secret', () => {
  let server: RunningHerald;
  let watcher: Awaited<ReturnType<typeof bystander>>;
  before(async () => {
    server = await start({ jwtSecret: TEST_SECRET });
    watcher = await bystander(server, await hs256Token('watcher'));
  });
  after(async () => {
    await watcher.check();
    await watcher.close();
    await server.close();
  });

  test('a token in Authorization: Bearer, the token query parameter or the token cookie sets connection.user from sub', async () => {
    const token = await hs256Token('alice', { claims: { role: 'admin' } });
    const viaHeader = await TestClient.open(`${server.wsUrl}/whoami`, { headers: { Authorization: `Bearer ${token}` } });
    assert.deepEqual(await viaHeader.nextJson(), { user: 'alice', role: 'admin' });
    const viaQuery = await TestClient.open(`${server.wsUrl}/whoami?token=${token}`);
    assert.deepEqual(await viaQuery.nextJson(), { user: 'alice', role: 'admin' });
    const viaCookie = await TestClient.open(`${server.wsUrl}/whoami`, { headers: { Cookie: `theme=dark; token=${token}` } });
    assert.deepEqual(await viaCookie.nextJson(), { user: 'alice', role: 'admin' });
    await Promise.all([viaHeader.close(), viaQuery.close(), viaCookie.close()]);
    await watcher.check();
  });

  test('a socket without a token is accepted, then closed with 1008 "Token required"', async () => {
    assert.deepEqual(await refusedWith(`${server.wsUrl}/whoami`), { code: 1008, reason: 'Token required' });
    assert.deepEqual(await refusedWith(`${server.wsUrl}/ws/news`), { code: 1008, reason: 'Token required' });
    await watcher.check();
  });

  test('bad signature, alg none, malformed, missing sub and expired tokens are closed with 1008 and a short reason', async () => {
    const cases: Array<[string, string]> = [
      [await hs256Token('mallory', { secret: 'another-secret-that-is-also-long-enough' }), 'Invalid token: bad signature'],
      [unsignedToken('mallory'), 'Invalid token: algorithm not allowed'],
      ['not-a-jwt', 'Invalid token: malformed'],
      [await hs256Token(undefined), 'Invalid token: no sub claim'],
      [await hs256Token('late', { expiresInSeconds: -30 }), 'Token expired'],
    ];
    for (const [token, reason] of cases) {
      assert.deepEqual(await refusedWith(`${server.wsUrl}/whoami?token=${encodeURIComponent(token)}`), { code: 1008, reason }, reason);
    }
    const refused = server.herald.stats().refusals['auth-refused'] ?? 0;
    assert.ok(refused >= cases.length, `auth refusals counted: ${refused}`);
    await watcher.check();
  });

  test('a connection whose token expires is closed with 4100 "Token expired"; others stay open', async () => {
    const shortLived = await TestClient.open(`${server.wsUrl}/whoami?token=${await hs256Token('brief', { expiresInSeconds: 2 })}`);
    assert.deepEqual(await shortLived.nextJson(), { user: 'brief', role: null });
    assert.deepEqual(await shortLived.closed, { code: 4100, reason: 'Token expired' });
    assert.ok((server.herald.stats().refusals['token-expired'] ?? 0) >= 1);
    await watcher.check();
  });

  test('refreshing before expiry keeps the connection open until the new token expires', async () => {
    const original = await hs256Token('carol', { expiresInSeconds: 2 });
    const refreshed = await TestClient.open(`${server.wsUrl}/refreshable?token=${original}`);
    const control = await TestClient.open(`${server.wsUrl}/refreshable?token=${original}`);
    const replacement = await hs256Token('carol', { expiresInSeconds: 4 });
    refreshed.send(replacement);
    assert.deepEqual(await refreshed.nextJson(), { refreshed: 'carol', expiresAt: decodeJwt(replacement).exp! * 1000 });
    // The unrefreshed twin closes at the original expiry; the refreshed one outlives it.
    assert.equal((await control.closed).code, 4100);
    assert.equal(refreshed.ws.readyState, refreshed.ws.OPEN);
    const controlClosedAt = Date.now();
    assert.deepEqual(await refreshed.closed, { code: 4100, reason: 'Token expired' });
    assert.ok(Date.now() - controlClosedAt >= 1000, 'closed at the refreshed expiry, not the original one');
    await watcher.check();
  });

  test('a refresh with a token for another user, or an invalid one, is refused and changes nothing', async () => {
    const client = await TestClient.open(`${server.wsUrl}/refreshable?token=${await hs256Token('dave')}`);
    client.send(await hs256Token('eve'));
    assert.deepEqual(await client.nextJson(), { error: 'HERALD_ERR_TOKEN_INVALID', message: 'Invalid token: it names another user' });
    client.send(unsignedToken('dave'));
    assert.deepEqual(await client.nextJson(), { error: 'HERALD_ERR_TOKEN_INVALID', message: 'Invalid token: algorithm not allowed' });
    client.send(await hs256Token('dave', { expiresInSeconds: -5 }));
    assert.deepEqual(await client.nextJson(), { error: 'HERALD_ERR_TOKEN_EXPIRED', message: 'Token expired' });
    const replacement = await hs256Token('dave');
    client.send(replacement);
    assert.deepEqual(await client.nextJson(), { refreshed: 'dave', expiresAt: decodeJwt(replacement).exp! * 1000 });
    await client.close();
  });

  test('a route with authentication "none" ignores tokens: /echo/secure keeps its own cookie check', async () => {
    // The demo token is not configured on this server, so the route's own refusal shows.
    assert.deepEqual(await refusedWith(`${server.wsUrl}/echo/secure?username=x`, { headers: { Cookie: `token=${await hs256Token('x')}` } }), {
      code: 1008,
      reason: 'Secured echo is off: the server has no HERALD_DEMO_TOKEN',
    });
  });
});

describe('connection authentication with public keys', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const ecPem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const sign = (alg: string, key: Parameters<SignJWT['sign']>[0], sub: string, kid?: string) =>
    new SignJWT({}).setProtectedHeader({ alg, ...(kid ? { kid } : {}) }).setSubject(sub).setExpirationTime('1h').sign(key);

  test('RS256 with a PEM public key: RS256 tokens pass; ES256, and HS256 signed with the public key as secret, are refused', async () => {
    const server = await start({ jwtPublicKey: rsaPem });
    try {
      const ok = await TestClient.open(`${server.wsUrl}/whoami?token=${await sign('RS256', rsa.privateKey, 'rita')}`);
      assert.deepEqual(await ok.nextJson(), { user: 'rita', role: null });
      assert.deepEqual(await refusedWith(`${server.wsUrl}/whoami?token=${await sign('ES256', ec.privateKey, 'rita')}`), {
        code: 1008,
        reason: 'Invalid token: algorithm not allowed',
      });
      // The classic algorithm-confusion forgery.
      const forged = await sign('HS256', new TextEncoder().encode(rsaPem), 'rita');
      assert.deepEqual(await refusedWith(`${server.wsUrl}/whoami?token=${forged}`), { code: 1008, reason: 'Invalid token: algorithm not allowed' });
      await ok.close();
    } finally {
      await server.close();
    }
  });

  test('ES256 with a PEM public key, with issuer and audience required', async () => {
    const server = await start({ jwtPublicKey: ecPem, jwtIssuer: 'https://id.example', jwtAudience: 'herald' });
    try {
      const good = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject('erin')
        .setIssuer('https://id.example')
        .setAudience('herald')
        .setExpirationTime('1h')
        .sign(ec.privateKey);
      const ok = await TestClient.open(`${server.wsUrl}/whoami`, { headers: { Authorization: `Bearer ${good}` } });
      assert.deepEqual(await ok.nextJson(), { user: 'erin', role: null });
      const wrongAudience = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject('erin')
        .setIssuer('https://id.example')
        .setAudience('other')
        .setExpirationTime('1h')
        .sign(ec.privateKey);
      assert.deepEqual(await refusedWith(`${server.wsUrl}/whoami?token=${wrongAudience}`), { code: 1008, reason: 'Invalid token: aud claim rejected' });
      assert.deepEqual(await refusedWith(`${server.wsUrl}/whoami?token=${await sign('ES256', ec.privateKey, 'erin')}`), {
        code: 1008,
        reason: 'Invalid token: iss claim rejected',
      });
      await ok.close();
    } finally {
      await server.close();
    }
  });

  test('a JWKS URL: keys are picked by kid; an unknown kid is refused', async () => {
    const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwks: Server = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const server = await start({ jwtJwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json` });
    try {
      const ok = await TestClient.open(`${server.wsUrl}/whoami?token=${await sign('RS256', rsa.privateKey, 'jay', 'k1')}`);
      assert.deepEqual(await ok.nextJson(), { user: 'jay', role: null });
      assert.deepEqual(await refusedWith(`${server.wsUrl}/whoami?token=${await sign('RS256', rsa.privateKey, 'jay', 'k2')}`), {
        code: 1008,
        reason: 'Invalid token: no matching key',
      });
      await ok.close();
    } finally {
      await server.close();
      jwks.closeAllConnections();
      await new Promise((resolve) => jwks.close(resolve));
    }
  });
});

describe('an unreachable key set', () => {
  test('a token that cannot be checked because the JWKS is unreachable closes with 1013 (retry), not 1008', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    // Port 1 on loopback: nothing listens there, so the fetch fails at once.
    const server = await start({ jwtJwksUrl: 'http://127.0.0.1:1/jwks.json' });
    try {
      const token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('u').setExpirationTime('1h').sign(privateKey);
      assert.deepEqual(await refusedWith(`${server.wsUrl}/whoami?token=${token}`), { code: 1013, reason: 'Cannot verify tokens right now' });
    } finally {
      await server.close();
    }
  });
  test('a key set answering HTTP 500 closes with 1013 (retry), and the same token is accepted once it answers again; the SDK keeps reconnecting meanwhile', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    let failing = true;
    let fetches = 0;
    // A real identity provider's key endpoint, in an outage and then back.
    const jwks: Server = createServer((_request, response) => {
      fetches++;
      if (failing) {
        response.statusCode = 500;
        response.end('upstream error');
        return;
      }
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const server = await start({ jwtJwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json` });
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('ivy').setExpirationTime('1h').sign(privateKey);
    const sdk = new HeraldClient(`${server.wsUrl}/connect`, { token, minReconnectDelayMs: 20, maxReconnectDelayMs: 100 });
    try {
      assert.deepEqual(await refusedWith(`${server.wsUrl}/whoami?token=${token}`), { code: 1013, reason: 'Cannot verify tokens right now' });
      const disconnects: Array<{ code: number; reason: string; reconnect: boolean }> = [];
      sdk.on('disconnected', (event) => disconnects.push(event));
      const connected = new Promise<{ user: string | null }>((resolve) => sdk.on('connected', resolve));
      sdk.connect();
      await waitFor(() => disconnects.length >= 2, 10_000, 'two refused SDK attempts');
      assert.deepEqual(disconnects[0], { code: 1013, reason: 'Cannot verify tokens right now', reconnect: true });
      assert.equal(sdk.state, 'connecting');
      failing = false;
      assert.equal((await connected).user, 'ivy');
      assert.ok(disconnects.every((event) => event.code === 1013 && event.reconnect), JSON.stringify(disconnects));
      const ok = await TestClient.open(`${server.wsUrl}/whoami?token=${token}`);
      assert.deepEqual(await ok.nextJson(), { user: 'ivy', role: null });
      assert.ok(fetches >= 3);
      await ok.close();
    } finally {
      sdk.close();
      await server.close();
      jwks.closeAllConnections();
      await new Promise((resolve) => jwks.close(resolve));
    }
  });
});

describe('anonymous connections', () => {
  test('with allowAnonymous, a socket without a token is anonymous, but a bad token is still refused', async () => {
    const server = await start({ jwtSecret: TEST_SECRET, allowAnonymous: true });
    try {
      const anonymous = await TestClient.open(`${server.wsUrl}/whoami`);
      assert.deepEqual(await anonymous.nextJson(), { user: null, role: null });
      assert.deepEqual(await refusedWith(`${server.wsUrl}/whoami?token=garbage`), { code: 1008, reason: 'Invalid token: malformed' });
      // A route that requires a token still does.
      assert.deepEqual(await refusedWith(`${server.wsUrl}/strict`), { code: 1008, reason: 'Token required' });
      await anonymous.close();
    } finally {
      await server.close();
    }
  });

  test('with no JWT configured every socket is anonymous, and a route requiring authentication refuses everyone', async () => {
    const server = await start({});
    try {
      const anonymous = await TestClient.open(`${server.wsUrl}/whoami?token=${await hs256Token('ignored')}`);
      assert.deepEqual(await anonymous.nextJson(), { user: null, role: null });
      assert.deepEqual(await refusedWith(`${server.wsUrl}/strict`), { code: 1008, reason: 'Authentication is not configured on this server' });
      await anonymous.close();
    } finally {
      await server.close();
    }
  });
});
