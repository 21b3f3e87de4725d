import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Herald, HeraldClientError, backoffDelay, type SubscribedEvent } from '../client/node.ts';
import { Errors, HeraldError } from '../src/errors.ts';
import { startHerald, waitFor, type RunningHerald } from './support/servers.ts';
import { installProtocolTestApp } from './support/protocol-app.ts';

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
  const client = (query = '', options = {}): Herald => {
    const herald = new Herald(`${server.wsUrl}/connect${query}`, { minReconnectDelayMs: 50, maxReconnectDelayMs: 300, ...options });
    clients.push(herald);
    return herald;
  };
  before(async () => {
    server = await startHerald({}, installProtocolTestApp);
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
      assert.equal(error.code, 'HERALD_ERR_PUBLISH_FORBIDDEN');
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
    const alice = client('?as=alice').connect();
    const bob1 = client('?as=bob', { info: { tab: 1 } }).connect();
    const bob2 = client('?as=bob', { info: { tab: 2 } }).connect();
    const message = nextEvent<{ from: string | null; data: unknown }>((l) => bob2.on('message', l));
    await Promise.all([bob1.subscribe('room:sdk', () => {}).ready, bob2.subscribe('room:sdk', () => {}).ready]);
    assert.deepEqual(await alice.send('bob', 'psst'), { user: 'bob', online: true });
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

  test('full-jitter backoff stays within [0, min(cap, base * 2^attempt))', () => {
    const options = { minDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelay(0, options, () => 0), 0);
    assert.equal(backoffDelay(0, options, () => 0.999), 99);
    assert.equal(backoffDelay(3, options, () => 0.5), 400);
    assert.equal(backoffDelay(10, options, () => 0.999), 999);
    assert.equal(backoffDelay(1000, options, () => 0.5), 500);
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
    let failures = 1;
    const server = await startHerald({}, (herald) => {
      installProtocolTestApp(herald);
      herald.onSocket(() => {
        if (failures-- > 0) throw new Error('boom');
      });
    });
    const herald = new Herald(`${server.wsUrl}/connect`, { minReconnectDelayMs: 20 });
    const disconnected = nextEvent<{ code: number; reason: string; reconnect: boolean }>((l) => herald.on('disconnected', l));
    const connected = nextEvent<{ connection: string }>((l) => herald.on('connected', l));
    herald.connect();
    assert.deepEqual(await disconnected, { code: 1011, reason: 'internal error', reconnect: true });
    await connected;
    await herald.ping();
    herald.close();
    await server.close();
  });

  test('a give-up code (1008, refused token) stops reconnecting and tells the app', async () => {
    const server = await startHerald({}, (herald) => {
      installProtocolTestApp(herald);
      herald.onSocket((socket) => {
        if (socket.query.get('token') !== 'good') throw new HeraldError(Errors.UNAUTHORIZED, 'bad token');
      });
    });
    let tokenCalls = 0;
    const refused = new Herald(`${server.wsUrl}/connect`, { token: () => `bad-${++tokenCalls}`, minReconnectDelayMs: 20 });
    const disconnected = nextEvent<{ code: number; reason: string; reconnect: boolean }>((l) => refused.on('disconnected', l));
    refused.connect();
    assert.deepEqual(await disconnected, { code: 1008, reason: 'bad token', reconnect: false });
    assert.equal(refused.state, 'disconnected');
    assert.equal(tokenCalls, 1);
    await assert.rejects(refused.publish('x', 1), { code: 'HERALD_CLIENT_CLOSED' });
    const accepted = new Herald(`${server.wsUrl}/connect`, { token: 'good' }).connect();
    await accepted.ping();
    accepted.close();
    await server.close();
  });
});
