import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Herald, HeraldClientError, backoffDelay, type SubscribedEvent } from '../client/node.ts';
import { ReconnectBackoff } from '../client/backoff.ts';
import { startHerald, waitFor, type RunningHerald } from './support/servers.ts';
import { installProtocolTestApp, protocolTestOptions } from './support/protocol-app.ts';
import { hs256Token, TEST_SECRET } from './support/tokens.ts';

/** Collects what a subscription handler receives. */
function collector(): { items: unknown[]; handler: (data: unknown) => void } {
  const items: unknown[] = [];
  return { items, handler: (data) => items.push(data) };
}

function nextEvent<T>(on: (listener: (event: T) => void) => () => void, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('event did not come')), timeoutMs);
    const off = on((event) => {
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

describe('client SDK against one process (embedded broker)', () => {
  let server: RunningHerald;
  const clients: Herald[] = [];
  const client = (user?: string, options = {}): Herald => {
    const token = user === undefined ? undefined : () => hs256Token(user);
    const herald = new Herald(`${server.wsUrl}/connect`, { token, minReconnectDelayMs: 50, maxReconnectDelayMs: 300, ...options });
    clients.push(herald);
    return herald;
  };
  before(async () => {
    server = await startHerald(protocolTestOptions, installProtocolTestApp);
  });
  after(async () => {
    for (const herald of clients) herald.close();
    await server.close();
  });

  test('connects with state events, subscribes, and publishes with promised replies', async () => {
    const herald = client();
    const states: string[] = [];
    herald.on('state', (state) => states.push(state));
    const connected = nextEvent<{ connection: string; user: string | null }>((l) => herald.on('connected', l));
    herald.connect();
    assert.equal((await connected).user, null);
    assert.deepEqual(states, ['connecting', 'connected']);
    const got: Array<[unknown, unknown]> = [];
    const sub = herald.subscribe('sdk:news', (data, context) => got.push([data, context]));
    assert.deepEqual(await sub.ready, { recovered: false, resubscribed: false, recoverable: true });
    const result = await herald.publish('sdk:news', { headline: 'one' });
    assert.equal(result.offset, 1);
    await waitFor(() => got.length === 1);
    assert.deepEqual(got, [[{ headline: 'one' }, { channel: 'sdk:news', offset: 1, epoch: result.epoch }]]);
    assert.deepEqual(sub.position, { offset: 1, epoch: result.epoch });
    const history = await herald.history('sdk:news');
    assert.deepEqual(history.publications, [{ offset: 1, data: { headline: 'one' } }]);
    await herald.ping();
    sub.unsubscribe();
    await herald.publish('sdk:news', 'unheard');
    await herald.ping();
    assert.equal(got.length, 1);
  });

  test('requests made before the connection is up are sent once connected', async () => {
    const herald = client();
    herald.connect();
    const result = await herald.publish('sdk:early', 'x');
    assert.equal(result.offset, 1);
  });

  test('typed errors: a refused request rejects with the server code; a refused subscription emits error', async () => {
    const herald = client().connect();
    await assert.rejects(herald.publish('locked:a', 1), (error: unknown) => {
      assert.ok(error instanceof HeraldClientError);
      assert.equal(error.code, 'HERALD_ERR_PERMISSION_DENIED');
      return true;
    });
    await assert.rejects(herald.presence('sdk:nopresence'), { code: 'HERALD_ERR_PRESENCE_DISABLED' });
    const sub = herald.subscribe('not a channel', () => {});
    const error = nextEvent<HeraldClientError>((l) => sub.on('error', l));
    await assert.rejects(sub.ready, { code: 'HERALD_ERR_BAD_REQUEST' });
    assert.equal((await error).code, 'HERALD_ERR_BAD_REQUEST');
    assert.equal(sub.state, 'unsubscribed');
    assert.equal(herald.subscription('not a channel'), undefined);
    assert.throws(() => {
      herald.subscribe('dup', () => {});
      herald.subscribe('dup', () => {});
    }, /Already subscribed to dup/);
  });

  test('private messages arrive as message events; presence lists both sockets of a user', async () => {
    const alice = client('alice').connect();
    const bob1 = client('bob', { info: { tab: 1 } }).connect();
    const bob2 = client('bob', { info: { tab: 2 } }).connect();
    const message = nextEvent<{ from: string | null; data: unknown }>((l) => bob2.on('message', l));
    await Promise.all([bob1.subscribe('room:sdk', () => {}).ready, bob2.subscribe('room:sdk', () => {}).ready]);
    assert.deepEqual(await alice.send('bob', 'psst'), { user: 'bob', live: true, stored: false, online: true });
    assert.deepEqual(await message, { from: 'alice', data: 'psst' });
    const present = await alice.presence('room:sdk');
    assert.deepEqual(present.map((c) => [c.user, c.info]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [['bob', { tab: 1 }], ['bob', { tab: 2 }]]);
    const roomWatch = alice.subscribe('room:sdk', () => {});
    await roomWatch.ready;
    const leave = nextEvent<{ connection: string; user: string | null }>((l) => roomWatch.on('leave', l));
    const bob1Connection = bob1.connectionId;
    bob1.close();
    assert.deepEqual(await leave, { connection: bob1Connection, user: 'bob' });
  });

  test('a new epoch while connected (history lost) resubscribes and reports recovered: false', async () => {
    const herald = client().connect();
    const { items, handler } = collector();
    const sub = herald.subscribe('sdk:epoch', handler);
    await sub.ready;
    await herald.publish('sdk:epoch', 1);
    await waitFor(() => items.length === 1);
    const resubscribed = nextEvent<SubscribedEvent>((l) => sub.on('subscribed', l));
    await server.herald.broker.history.remove('sdk:epoch');
    await herald.publish('sdk:epoch', 2);
    assert.deepEqual(await resubscribed, { recovered: false, resubscribed: true, recoverable: true });
    assert.deepEqual(items, [1]);
    await herald.publish('sdk:epoch', 3);
    await waitFor(() => items.length === 2);
    assert.deepEqual(items, [1, 3]);
  });

  test('with a token function, the SDK refreshes the token before it expires and stays connected', async () => {
    const server = await startHerald(protocolTestOptions, installProtocolTestApp);
    let issued = 0;
    const herald = new Herald(`${server.wsUrl}/connect`, { token: () => (issued++, hs256Token('dana', { expiresInSeconds: 2 })) });
    const disconnects: number[] = [];
    herald.on('disconnected', ({ code }) => disconnects.push(code));
    const connected = nextEvent<{ expiresAt?: number }>((l) => herald.on('connected', l));
    herald.connect();
    const firstExpiry = (await connected).expiresAt!;
    const refreshed = await nextEvent<{ expiresAt?: number }>((l) => herald.on('refreshed', l), 5000);
    assert.ok(refreshed.expiresAt! >= firstExpiry);
    assert.ok(issued >= 2);
    // Past the first token's expiry the connection is still the same one.
    await waitFor(() => Date.now() > firstExpiry + 300, 5000, 'the first expiry to pass');
    await herald.ping();
    assert.deepEqual(disconnects, []);
    herald.close();
    await server.close();
  });

  test('backoff stays within [ceiling / 2, ceiling), ceiling = min(cap, base * 2^attempt)', () => {
    const options = { minDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelay(0, options, () => 0), 50);
    assert.equal(backoffDelay(0, options, () => 0.999), 99);
    assert.equal(backoffDelay(3, options, () => 0.5), 600);
    assert.equal(backoffDelay(10, options, () => 0), 500);
    assert.equal(backoffDelay(10, options, () => 0.999), 999);
    assert.equal(backoffDelay(1000, options, () => 0.5), 750);
  });

  test('reconnect backoff grows until reset, and waits at least the server\'s advice (never past the cap)', () => {
    const backoff = new ReconnectBackoff({ minDelayMs: 100, maxDelayMs: 1000 }, () => 0);
    assert.deepEqual([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()], [50, 100, 200, 400, 500]);
    assert.equal(backoff.attempt, 5);
    backoff.reset();
    assert.equal(backoff.attempt, 0);
    backoff.advise(300);
    assert.equal(backoff.next(), 300);
    assert.equal(backoff.next(), 100, 'advice applies to the next delay only');
    backoff.advise(60_000);
    assert.equal(backoff.next(), 1000);
    for (const nonsense of [-5, Number.NaN, Infinity, undefined]) backoff.advise(nonsense);
    assert.equal(backoff.next(), 400);
  });
});

describe('client SDK close codes', () => {
  test('server shutdown (1001): reconnects, and after a memory restart learns recovered: false', async () => {
    let server = await startHerald({}, installProtocolTestApp);
    const port = new URL(server.url).port;
    const herald = new Herald(`${server.wsUrl}/connect`, { minReconnectDelayMs: 50, maxReconnectDelayMs: 200 }).connect();
    const { items, handler } = collector();
    const sub = herald.subscribe('sdk:restart', handler);
    await sub.ready;
    await herald.publish('sdk:restart', 'before');
    await waitFor(() => items.length === 1);
    const disconnected = nextEvent<{ code: number; reconnect: boolean }>((l) => herald.on('disconnected', l));
    await server.close();
    assert.deepEqual(await disconnected, { code: 1001, reason: 'server shutting down', reconnect: true });
    assert.equal(herald.state, 'connecting');
    const resubscribed = nextEvent<SubscribedEvent>((l) => sub.on('subscribed', l), 10_000);
    server = await startHerald({ port: Number(port) }, installProtocolTestApp);
    assert.deepEqual(await resubscribed, { recovered: false, resubscribed: true, recoverable: true });
    await herald.publish('sdk:restart', 'after');
    await waitFor(() => items.length === 2);
    assert.deepEqual(items, ['before', 'after']);
    herald.close();
    assert.equal(herald.state, 'disconnected');
    await assert.rejects(herald.ping(), { code: 'HERALD_CLIENT_CLOSED' });
    await server.close();
  });

  test('an unexpected server error (1011) is followed by a reconnect', async () => {
    // A route that fails as a server bug would: the SDK must treat 1011 as transient.
    const server = await startHerald({}, (herald) => {
      herald.socket('/flaky', (socket) => socket.close(1011, 'internal error'));
    });
    const herald = new Herald(`${server.wsUrl}/flaky`, { minReconnectDelayMs: 20, maxReconnectDelayMs: 40 });
    const disconnected = nextEvent<{ code: number; reason: string; reconnect: boolean }>((l) => herald.on('disconnected', l));
    const retried = nextEvent<{ attempt: number }>((l) => herald.on('connecting', l));
    herald.connect();
    assert.deepEqual(await disconnected, { code: 1011, reason: 'internal error', reconnect: true });
    assert.equal((await retried).attempt, 0);
    assert.ok((await nextEvent<{ attempt: number }>((l) => herald.on('connecting', l))).attempt >= 1);
    herald.close();
    await server.close();
  });

  test('a give-up code (1008, refused token) stops reconnecting and tells the app; refresh replaces a token', async () => {
    const server = await startHerald({ jwtSecret: TEST_SECRET }, installProtocolTestApp);
    let tokenCalls = 0;
    const refused = new Herald(`${server.wsUrl}/connect`, { token: () => `bad-${++tokenCalls}`, minReconnectDelayMs: 20 });
    const disconnected = nextEvent<{ code: number; reason: string; reconnect: boolean }>((l) => refused.on('disconnected', l));
    refused.connect();
    const event = await disconnected;
    assert.equal(event.code, 1008);
    assert.equal(event.reconnect, false);
    assert.equal(refused.state, 'disconnected');
    assert.equal(tokenCalls, 1);
    await assert.rejects(refused.publish('x', 1), { code: 'HERALD_CLIENT_CLOSED' });
    const accepted = new Herald(`${server.wsUrl}/connect`, { token: await hs256Token('carol', { expiresInSeconds: 600 }) });
    const connected = nextEvent<{ user: string | null; expiresAt?: number }>((l) => accepted.on('connected', l));
    accepted.connect();
    const welcome = await connected;
    assert.equal(welcome.user, 'carol');
    assert.ok(welcome.expiresAt! > Date.now() + 500_000);
    const refreshed = await accepted.refresh(await hs256Token('carol', { expiresInSeconds: 3600 }));
    assert.equal(refreshed.user, 'carol');
    assert.ok(refreshed.expiresAt! > welcome.expiresAt!);
    await assert.rejects(accepted.refresh(await hs256Token('mallory')), { code: 'HERALD_ERR_TOKEN_INVALID' });
    await accepted.ping();
    accepted.close();
    await server.close();
  });
});
