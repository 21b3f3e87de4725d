import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { startHerald, type RunningHerald } from './support/servers.ts';
import { APP, OTHER_APP, connected, nextEvent, pusherClient, serverLibrary, startAuthEndpoint, subscribed, type PusherClient } from './support/pusher.ts';

/** Raw frames of a socket, for the exact shapes pusher-js reads. */
async function rawSocket(url: string): Promise<{ ws: WebSocket; frames: any[]; next(): Promise<any>; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(url);
  const frames: any[] = [];
  const waiting: ((frame: any) => void)[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    const waiter = waiting.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return {
    ws,
    frames,
    closed,
    next: () =>
      frames.length > 0
        ? Promise.resolve(frames.shift())
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no frame within 5 s')), 5000);
            waiting.push((frame) => {
              clearTimeout(timer);
              resolve(frame);
            });
          }),
  };
}

describe('the Pusher protocol on one process (pusher-js, the pusher server library)', () => {
  let server: RunningHerald;
  let auth: Awaited<ReturnType<typeof startAuthEndpoint>>;
  const clients: PusherClient[] = [];
  const client = (options: Parameters<typeof pusherClient>[1] = {}): PusherClient => {
    const made = pusherClient(server.url, { authEndpoint: auth.url, ...options });
    clients.push(made);
    return made;
  };

  before(async () => {
    server = await startHerald({ pusherApps: [APP, { ...OTHER_APP, limits: { maxConnections: 1 } }] }, () => {});
    auth = await startAuthEndpoint(server.url);
  });
  after(async () => {
    for (const made of clients) made.disconnect();
    await auth.close();
    await server.close();
  });

  test('connection_established carries a socket id of the form the server libraries check, and ping gets pong', async () => {
    const socket = await rawSocket(`${server.wsUrl}/app/${APP.key}?protocol=7&client=js&version=8.6.0`);
    const established = await socket.next();
    assert.equal(established.event, 'pusher:connection_established');
    const data = JSON.parse(established.data);
    assert.match(data.socket_id, /^\d+\.\d+$/);
    assert.equal(data.activity_timeout, 30);
    socket.ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }));
    assert.deepEqual(await socket.next(), { event: 'pusher:pong', data: {} });
    socket.ws.send('not json');
    assert.deepEqual(await socket.next(), { event: 'pusher:error', data: { code: null, message: 'Frames must be JSON objects with an "event" string' } });
    socket.ws.close();
  });

  test('an unknown key, a missing or unsupported protocol version close with the protocol codes', async () => {
    for (const [path, code] of [
      [`/app/nope?protocol=7`, 4001],
      [`/app/${APP.key}`, 4008],
      [`/app/${APP.key}?protocol=x`, 4006],
      [`/app/${APP.key}?protocol=8`, 4007],
    ] as const) {
      const socket = await rawSocket(`${server.wsUrl}${path}`);
      const frame = await socket.next();
      assert.equal(frame.event, 'pusher:error', path);
      assert.equal(frame.data.code, code, path);
      assert.equal((await socket.closed).code, code, path);
    }
  });

  test('an app over its connection limit refuses with 4004 (another app is not affected)', async () => {
    const first = await rawSocket(`${server.wsUrl}/app/${OTHER_APP.key}?protocol=7`);
    assert.equal((await first.next()).event, 'pusher:connection_established');
    const second = await rawSocket(`${server.wsUrl}/app/${OTHER_APP.key}?protocol=7`);
    assert.deepEqual((await second.next()).data.code, 4004);
    assert.equal((await second.closed).code, 4004);
    first.ws.close();
  });

  test('public channel: an event triggered by the server library reaches pusher-js, except the socket_id excluded', async () => {
    const alice = await connected(client());
    const bob = await connected(client());
    const aliceChannel = await subscribed(alice, 'news');
    const bobChannel = await subscribed(bob, 'news');
    const pusher = serverLibrary(server.url);
    const gotAlice = nextEvent(aliceChannel, 'headline');
    const gotBob = nextEvent(bobChannel, 'headline');
    await pusher.trigger('news', 'headline', { title: 'hello' });
    assert.deepEqual(await gotAlice, { title: 'hello' });
    assert.deepEqual(await gotBob, { title: 'hello' });
    // Excluding Alice's socket: Bob gets it, Alice gets only the next one.
    const bobSecond = nextEvent(bobChannel, 'headline');
    const aliceNext = nextEvent(aliceChannel, 'headline');
    await pusher.trigger('news', 'headline', { title: 'not for alice' }, { socket_id: alice.connection.socket_id });
    assert.deepEqual(await bobSecond, { title: 'not for alice' });
    await pusher.trigger('news', 'headline', { title: 'for all' });
    assert.deepEqual(await aliceNext, { title: 'for all' });
  });

  test('batch_events delivers every event of the batch', async () => {
    const alice = await connected(client());
    const one = await subscribed(alice, 'batch-one');
    const two = await subscribed(alice, 'batch-two');
    const got = Promise.all([nextEvent(one, 'e1'), nextEvent(two, 'e2')]);
    await serverLibrary(server.url).triggerBatch([
      { channel: 'batch-one', name: 'e1', data: { n: 1 } },
      { channel: 'batch-two', name: 'e2', data: 'plain text' },
    ]);
    assert.deepEqual(await got, [{ n: 1 }, 'plain text']);
  });

  test('private channel: subscribed with the auth endpoint\'s signature; a forged one is refused with 401', async () => {
    const alice = await connected(client({ user: 'alice' }));
    const channel = await subscribed(alice, 'private-orders');
    const got = nextEvent(channel, 'created');
    await serverLibrary(server.url).trigger('private-orders', 'created', { id: 7 });
    assert.deepEqual(await got, { id: 7 });

    const mallory = await connected(client());
    const raw = await rawSocket(`${server.wsUrl}/app/${APP.key}?protocol=7`);
    const socketId = JSON.parse((await raw.next()).data).socket_id;
    raw.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-orders', auth: `${APP.key}:${'0'.repeat(64)}` } }));
    const refused = await raw.next();
    assert.equal(refused.event, 'pusher:subscription_error');
    assert.equal(refused.channel, 'private-orders');
    assert.deepEqual(JSON.parse(refused.data), { type: 'AuthError', error: 'Invalid signature: the auth does not sign this socket and channel', status: 401 });
    assert.ok(socketId);
    raw.ws.close();
    mallory.disconnect();
  });

  test('presence channel: members hash, member_added and member_removed once per user, not per connection', async () => {
    const alice = await connected(client({ user: 'alice' }));
    const aliceChannel = client({ user: 'alice' }).subscribe('presence-room') as any;
    const members = await nextEvent(aliceChannel, 'pusher:subscription_succeeded');
    assert.equal(members.count, 1);
    assert.deepEqual(members.me, { id: 'alice', info: { name: 'ALICE' } });
    const added: any[] = [];
    const removed: any[] = [];
    aliceChannel.bind('pusher:member_added', (member: any) => added.push(member));
    aliceChannel.bind('pusher:member_removed', (member: any) => removed.push(member));
    const bob1 = client({ user: 'bob' });
    const bobFirst = nextEvent(aliceChannel, 'pusher:member_added');
    const bob1Channel = bob1.subscribe('presence-room') as any;
    const bobMembers = await nextEvent(bob1Channel, 'pusher:subscription_succeeded');
    assert.deepEqual(Object.keys(bobMembers.members).sort(), ['alice', 'bob']);
    assert.deepEqual(await bobFirst, { id: 'bob', info: { name: 'BOB' } });
    // Bob's second connection: no second member_added.
    const bob2 = client({ user: 'bob' });
    await subscribed(bob2, 'presence-room');
    const users = await serverLibrary(server.url).get({ path: '/channels/presence-room/users' });
    assert.deepEqual(await users.json(), { users: [{ id: 'alice' }, { id: 'bob' }].sort((a, b) => a.id.localeCompare(b.id)) } as any);
    const info = await serverLibrary(server.url).get({ path: '/channels/presence-room', params: { info: 'user_count,subscription_count' } });
    assert.deepEqual(await info.json(), { occupied: true, user_count: 2, subscription_count: 3 });
    bob1.disconnect();
    // One of Bob's two connections left: Bob is still here. Then the last one: member_removed once.
    const pusher = serverLibrary(server.url);
    await waitUntilAsync(async () => ((await (await pusher.get({ path: '/channels/presence-room', params: { info: 'subscription_count' } })).json()) as any).subscription_count === 2);
    const marker = nextEvent(aliceChannel, 'marker');
    await pusher.trigger('presence-room', 'marker', {});
    await marker;
    assert.equal(removed.length, 0);
    const gone = nextEvent(aliceChannel, 'pusher:member_removed');
    bob2.disconnect();
    assert.deepEqual(await gone, { id: 'bob', info: { name: 'BOB' } });
    assert.equal(added.length, 1);
    assert.equal(removed.length, 1);
    alice.disconnect();
  });

  test('client events reach the other subscribers with the sender\'s user id, never the sender; over the rate they are refused with 4301', async () => {
    const alice = client({ user: 'alice' });
    const bob = client({ user: 'bob' });
    const aliceChannel = await subscribed(alice, 'presence-typing');
    const bobChannel = await subscribed(bob, 'presence-typing');
    const echoed: unknown[] = [];
    aliceChannel.bind('client-typing', (data: unknown) => echoed.push(data));
    const got = new Promise<[unknown, unknown]>((resolve) => bobChannel.bind('client-typing', (data: unknown, meta: unknown) => resolve([data, meta])));
    aliceChannel.trigger('client-typing', { typing: true });
    assert.deepEqual(await got, [{ typing: true }, { user_id: 'alice' }]);
    const errors: any[] = [];
    alice.connection.bind('error', (error: any) => errors.push(error.data));
    for (let i = 0; i < 12; i++) aliceChannel.trigger('client-typing', { i });
    await waitUntil(() => errors.length >= 2);
    assert.deepEqual(errors[0], { code: 4301, message: 'Client event rejected due to rate limit' });
    assert.deepEqual(echoed, []);
  });

  test('an app without client events refuses them with pusher:error', async () => {
    const raw = await rawSocket(`${server.wsUrl}/app/${APP.key}?protocol=7`);
    await raw.next();
    raw.ws.send(JSON.stringify({ event: 'client-x', channel: 'public-channel', data: {} }));
    assert.deepEqual(await raw.next(), { event: 'pusher:error', data: { code: null, message: 'Not subscribed to channel "public-channel"' } });
    raw.ws.close();
  });

  test('private-encrypted channel: the server library encrypts, Herald relays, pusher-js decrypts', async () => {
    const alice = client({ user: 'alice' });
    const channel = await subscribed(alice, 'private-encrypted-vault');
    const got = nextEvent(channel, 'secret');
    await serverLibrary(server.url).trigger('private-encrypted-vault', 'secret', { code: 1234 });
    assert.deepEqual(await got, { code: 1234 });
  });

  test('signin, an event sent to the user, and terminate_connections closing the user\'s sockets with 4009', async () => {
    const carol = await connected(client({ user: 'carol' }));
    carol.signin();
    await waitUntil(() => (carol.user as any).serverToUserChannel?.subscribed === true);
    const got = new Promise((resolve) => carol.user.bind('notice', resolve));
    await serverLibrary(server.url).sendToUser('carol', 'notice', { hi: 'carol' });
    assert.deepEqual(await got, { hi: 'carol' });
    const errors: any[] = [];
    carol.connection.bind('error', (error: any) => errors.push(error));
    await serverLibrary(server.url).terminateUserConnections('carol');
    await waitUntil(() => errors.some((error) => error.data?.code === 4009));
  });

  test('the HTTP API answers wrong signatures, stale timestamps and unknown apps with 401 and 404', async () => {
    const wrong = serverLibrary(server.url, { ...APP, secret: 'not-the-secret' });
    await assert.rejects(wrong.trigger('news', 'e', {}), (error: any) => error.status === 401 && /HERALD_ERR_PUSHER_SIGNATURE_INVALID/.test(error.body));
    const pusher = serverLibrary(server.url);
    const query = pusher.createSignedQueryString({ method: 'GET', path: `/apps/${APP.id}/channels` });
    const stale = query.replace(/auth_timestamp=\d+/, `auth_timestamp=${Math.floor(Date.now() / 1000) - 601}`);
    const response = await fetch(`${server.url}/apps/${APP.id}/channels?${stale}`);
    assert.equal(response.status, 401);
    assert.equal((await response.json()).error.code, 'HERALD_ERR_PUSHER_TIMESTAMP_EXPIRED');
    const fresh = await fetch(`${server.url}/apps/${APP.id}/channels?${query}`);
    assert.equal(fresh.status, 200);
    const unknown = serverLibrary(server.url, { ...APP, id: '999' });
    await assert.rejects(unknown.trigger('news', 'e', {}), (error: any) => error.status === 404);
    // Another app's channels are its own: app 2's key does not sign for app 1.
    await assert.rejects(serverLibrary(server.url, { ...OTHER_APP, id: APP.id }).trigger('news', 'e', {}), (error: any) => error.status === 401);
  });

  test('GET channels lists occupied channels by prefix, with user_count for presence channels', async () => {
    const dave = client({ user: 'dave' });
    await subscribed(dave, 'presence-listed');
    await subscribed(dave, 'listed-public');
    const pusher = serverLibrary(server.url);
    const presence = await (await pusher.get({ path: '/channels', params: { filter_by_prefix: 'presence-listed', info: 'user_count' } })).json();
    assert.deepEqual(presence, { channels: { 'presence-listed': { user_count: 1 } } });
    const all = (await (await pusher.get({ path: '/channels' })).json()) as { channels: Record<string, unknown> };
    assert.deepEqual(all.channels['listed-public'], {});
    const one = await (await pusher.get({ path: '/channels/listed-public' })).json();
    assert.deepEqual(one, { occupied: true });
    const empty = await (await pusher.get({ path: '/channels/nobody-here' })).json();
    assert.deepEqual(empty, { occupied: false });
  });
});

describe('the Pusher route beside Herald\'s own security settings', () => {
  test('with JWT authentication on, Pusher sockets need no token (the apps\' signatures guard them); the origin allowlist still applies', async () => {
    const server = await startHerald({ pusherApps: [APP], jwtSecret: 'a-secret-of-at-least-32-characters!!', allowedOrigins: ['https://app.example.com'] }, () => {});
    try {
      const allowed = new WebSocket(`${server.wsUrl}/app/${APP.key}?protocol=7`, { headers: { origin: 'https://app.example.com' } });
      const first = await new Promise<any>((resolve, reject) => {
        allowed.once('message', (data) => resolve(JSON.parse(data.toString())));
        allowed.once('error', reject);
      });
      assert.equal(first.event, 'pusher:connection_established');
      allowed.close();
      const foreign = new WebSocket(`${server.wsUrl}/app/${APP.key}?protocol=7`, { headers: { origin: 'https://evil.example.com' } });
      const status = await new Promise<number>((resolve) => foreign.once('unexpected-response', (_request, response) => resolve(response.statusCode!)));
      assert.equal(status, 403);
    } finally {
      await server.close();
    }
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitUntilAsync(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
