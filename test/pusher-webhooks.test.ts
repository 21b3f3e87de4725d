import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ProtocolClient } from './support/protocol-client.ts';
import { APP, OTHER_APP, connected, nextEvent, pusherClient, serverLibrary, startAuthEndpoint, subscribed, type PusherClient } from './support/pusher.ts';
import { REDIS_URL, deleteKeys, spawnHerald, startHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

const TTL_MS = 1500;

/**
 * Two Herald processes on one Redis with two Pusher apps whose webhooks go to real HTTP receivers;
 * every request is checked by the `pusher` library's own webhook verification, unchanged.
 */
describe('Pusher webhooks across two processes on Redis (pusher-js, the pusher library)', () => {
  const prefix = uniquePrefix();
  let a: HeraldProcess;
  let b: HeraldProcess;
  let receiver: WebhookReceiver;
  /** OTHER_APP's endpoint: refuses the events of some channels, to show retries and dead letters. */
  let other: WebhookReceiver;
  let auth: Awaited<ReturnType<typeof startAuthEndpoint>>;
  const clients: PusherClient[] = [];
  let env: Record<string, string> = {};

  before(async () => {
    receiver = await WebhookReceiver.start();
    other = await WebhookReceiver.start();
    other.respond = (body, previousAttempts) => (body.includes('"doomed"') || (body.includes('"flaky"') && previousAttempts === 0) ? 500 : 200);
    env = {
      REDIS_URL,
      // Short, so that a killed process's subscriptions lapse quickly.
      HERALD_PRESENCE_TTL_MS: String(TTL_MS),
      HERALD_REDIS_PREFIX: prefix,
      HERALD_DEMOS: 'false',
      HERALD_WEBHOOK_RETRY_FOR_MS: '4000',
      HERALD_PUSHER_APPS: JSON.stringify([
        { ...APP, webhooks: [{ url: receiver.url }] },
        { ...OTHER_APP, webhooks: [{ url: other.url, events: ['channel_occupied'] }] },
      ]),
    };
    [a, b] = await Promise.all([spawnHerald(env), spawnHerald(env)]);
    auth = await startAuthEndpoint(a.url);
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await auth?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([receiver?.close(), other?.close()]);
    await deleteKeys(prefix);
  });

  const client = (url: string, user?: string, app = APP): PusherClient => {
    const made = pusherClient(url, { authEndpoint: auth.url, user, app });
    clients.push(made);
    return made;
  };

  /** Every event the app's endpoint accepted, each request verified by the pusher library. */
  const events = (app = APP, from = receiver): any[] => {
    const library = serverLibrary(a.url, app);
    return from.received.flatMap((request) => {
      const webhook = library.webhook({ headers: request.headers, rawBody: request.body });
      assert.equal(webhook.isValid(), true, `the pusher library accepts ${request.body}`);
      return webhook.getEvents();
    });
  };
  const about = (channel: string, app = APP, from = receiver): any[] => events(app, from).filter((event) => event.channel === channel);

  /**
   * Waits for the channel_occupied of a fresh channel: the events emitted before it were queued
   * before it, so a duplicate of them would have had its chance to arrive.
   */
  const settle = async (name: string): Promise<void> => {
    const marker = client(a.url);
    await subscribed(marker, name);
    await receiver.until(() => about(name).length > 0, 20_000, `the marker ${name}`);
    marker.disconnect();
  };

  test('channel_occupied at the first subscriber anywhere, channel_vacated after the last, once each across both processes', async () => {
    const alice = await connected(client(a.url));
    const bob = await connected(client(b.url));
    await Promise.all([subscribed(alice, 'orders'), subscribed(bob, 'orders')]);
    await receiver.until(() => about('orders').length === 1, 20_000, 'channel_occupied');
    assert.deepEqual(about('orders'), [{ name: 'channel_occupied', channel: 'orders' }]);
    alice.unsubscribe('orders');
    bob.unsubscribe('orders');
    await receiver.until(() => about('orders').length === 2, 20_000, 'channel_vacated');
    await settle('marker-occupancy');
    assert.deepEqual(about('orders'), [
      { name: 'channel_occupied', channel: 'orders' },
      { name: 'channel_vacated', channel: 'orders' },
    ]);
  });

  test("a killed process's channels are vacated within the presence TTL, by a surviving process, once", async () => {
    const c = await spawnHerald(env);
    try {
      const onA = await connected(client(a.url));
      const onC = await connected(client(c.url));
      await subscribed(onC, 'crash-room');
      await subscribed(onA, 'crash-room-too');
      await subscribed(onC, 'crash-room-too');
      await receiver.until(() => about('crash-room').length === 1 && about('crash-room-too').length === 1, 20_000, 'channel_occupied of both rooms');
      c.child.kill('SIGKILL');
      await c.exited;
      const killed = Date.now();
      await receiver.until(() => about('crash-room').length === 2, TTL_MS * 3 + 5000, 'channel_vacated of the crashed room');
      const tookMs = Date.now() - killed;
      // The TTL plus a sweep interval, and slack for timers and delivery on a loaded machine.
      assert.ok(tookMs <= TTL_MS + TTL_MS / 3 + 3000, `vacated after ${tookMs} ms`);
      await settle('marker-crash');
      assert.deepEqual(about('crash-room'), [
        { name: 'channel_occupied', channel: 'crash-room' },
        { name: 'channel_vacated', channel: 'crash-room' },
      ]);
      assert.deepEqual(about('crash-room-too'), [{ name: 'channel_occupied', channel: 'crash-room-too' }], 'still occupied by the socket on A');
    } finally {
      await c.stop('SIGKILL');
    }
  });

  test('member_added and member_removed once per user, whichever process its connections are on', async () => {
    const alice = client(a.url, 'alice');
    await subscribed(alice, 'presence-hall');
    const bobOnA = client(a.url, 'bob');
    const bobOnB = client(b.url, 'bob');
    await Promise.all([subscribed(bobOnA, 'presence-hall'), subscribed(bobOnB, 'presence-hall')]);
    const members = (): any[] => about('presence-hall').filter((event) => event.name.startsWith('member_'));
    await receiver.until(() => members().length === 2, 20_000, 'member_added of alice and bob');
    assert.deepEqual(members().sort((x, y) => x.user_id.localeCompare(y.user_id)), [
      { name: 'member_added', channel: 'presence-hall', user_id: 'alice' },
      { name: 'member_added', channel: 'presence-hall', user_id: 'bob' },
    ]);
    bobOnB.disconnect();
    bobOnA.disconnect();
    await receiver.until(() => members().length === 3, 20_000, 'member_removed of bob');
    await settle('marker-members');
    assert.deepEqual(members().slice(2), [{ name: 'member_removed', channel: 'presence-hall', user_id: 'bob' }]);
    assert.equal(about('presence-hall').filter((event) => event.name === 'channel_occupied').length, 1);
  });

  test('client_event with the channel, event, data as sent, socket_id, and user_id on presence channels', async () => {
    const alice = await connected(client(a.url, 'alice'));
    const bob = await connected(client(b.url, 'bob'));
    const [aliceChat, bobChat] = await Promise.all([subscribed(alice, 'private-chat'), subscribed(bob, 'private-chat')]);
    const typing = nextEvent(bobChat, 'client-typing');
    assert.equal(aliceChat.trigger('client-typing', { n: 1, text: 'héllo' }), true);
    assert.deepEqual(await typing, { n: 1, text: 'héllo' });
    const clientEvents = (channel: string): any[] => about(channel).filter((event) => event.name === 'client_event');
    await receiver.until(() => clientEvents('private-chat').length === 1, 20_000, 'client_event');
    assert.deepEqual(clientEvents('private-chat'), [
      { name: 'client_event', channel: 'private-chat', event: 'client-typing', data: JSON.stringify({ n: 1, text: 'héllo' }), socket_id: alice.connection.socket_id },
    ]);

    const [aliceRoom, bobRoom] = await Promise.all([subscribed(alice, 'presence-room'), subscribed(bob, 'presence-room')]);
    const wave = nextEvent(aliceRoom, 'client-wave');
    bobRoom.trigger('client-wave', 'plain text');
    await wave;
    await receiver.until(() => clientEvents('presence-room').length === 1, 20_000, 'client_event on a presence channel');
    assert.deepEqual(clientEvents('presence-room'), [
      { name: 'client_event', channel: 'presence-room', event: 'client-wave', data: 'plain text', socket_id: bob.connection.socket_id, user_id: 'bob' },
    ]);
  });

  test('each request is signed for its app: a tampered body, another key or another secret fails the library check', async () => {
    await receiver.until(() => receiver.received.length > 0, 20_000, 'any webhook');
    const library = serverLibrary(a.url);
    for (const request of receiver.received) {
      assert.equal(request.headers['content-type'], 'application/json');
      assert.equal(request.headers['x-pusher-key'], APP.key);
      assert.match(String(request.headers['x-pusher-signature']), /^[0-9a-f]{64}$/);
      assert.ok(request.headers['herald-event-id'], 'an id to drop repeats by');
      const body = JSON.parse(request.body);
      assert.deepEqual(Object.keys(body), ['time_ms', 'events']);
      assert.equal(body.events.length, 1);
      const webhook = library.webhook({ headers: request.headers, rawBody: request.body });
      assert.equal(webhook.getTime().getTime(), body.time_ms);
    }
    const [request] = receiver.received;
    const tampered = request!.body.replace('"channel":"', '"channel":"x');
    assert.notEqual(tampered, request!.body);
    assert.equal(library.webhook({ headers: request!.headers, rawBody: tampered }).isValid(), false, 'a tampered body');
    assert.equal(serverLibrary(a.url, OTHER_APP).webhook({ headers: request!.headers, rawBody: request!.body }).isValid(), false, "another app's key and secret");
    assert.equal(serverLibrary(a.url, { ...APP, secret: 'another-secret' }).webhook({ headers: request!.headers, rawBody: request!.body }).isValid(), false, 'another secret');
    assert.equal(library.webhook({ headers: { ...request!.headers, 'x-pusher-key': OTHER_APP.key }, rawBody: request!.body }).isValid(), false, 'another key');
  });

  test("apps are kept apart; a refused event is retried with the same body, then given up into the dead letters", async () => {
    const carol = await connected(client(b.url, 'carol', OTHER_APP));
    await Promise.all([subscribed(carol, 'flaky'), subscribed(carol, 'doomed')]);
    await other.until(() => about('flaky', OTHER_APP, other).length === 1, 20_000, 'flaky, on its second attempt');
    const flaky = other.requests.filter((request) => request.body.includes('"flaky"'));
    assert.deepEqual(flaky.map((request) => request.status), [500, 200]);
    assert.equal(flaky[0]!.body, flaky[1]!.body, 'every attempt sends the same body');
    assert.equal(flaky[0]!.headers['x-pusher-signature'], flaky[1]!.headers['x-pusher-signature']);
    assert.deepEqual(about('flaky', OTHER_APP, other), [{ name: 'channel_occupied', channel: 'flaky' }]);

    // Retried 1 s, then 2 s after each failure, until 4 s after the event (the retry time here).
    const deadLetters = async (): Promise<any[]> => ((await (await fetch(`${b.url}/api/webhooks/dead-letters`)).json()) as any).deadLetters.filter((letter: any) => letter.url === other.url);
    await waitFor(async () => (await deadLetters()).length > 0, 15_000, 'the dead letter of doomed');
    const letters = await deadLetters();
    const doomed = other.requests.filter((request) => request.body.includes('"doomed"'));
    assert.ok(doomed.length >= 2, 'retried before it was given up');
    assert.ok(doomed.every((request) => request.body === doomed[0]!.body && request.status === 500));
    assert.equal(letters.length, 1);
    assert.deepEqual(letters[0], { url: other.url, event: JSON.parse(doomed[0]!.body), attempts: doomed.length, lastError: 'HTTP 500', failedAt: letters[0].failedAt });
    assert.deepEqual(letters[0].event.events, [{ name: 'channel_occupied', channel: 'doomed' }]);
    // OTHER_APP's endpoint wants only channel_occupied, and APP's never hears of OTHER_APP's channels.
    carol.disconnect();
    await settle('marker-apart');
    assert.deepEqual(about('flaky').concat(about('doomed')), []);
    assert.ok(other.requests.every((request) => request.headers['x-pusher-key'] === OTHER_APP.key));
    assert.deepEqual([...new Set(other.requests.map((request) => JSON.parse(request.body).events[0].name))], ['channel_occupied']);
  });
});

describe('Pusher webhooks on one process with the embedded broker', () => {
  test('occupied, members, client events and vacated to the app URL only for the events it lists; Herald endpoints may take them as pusher.*', async () => {
    const receiver = await WebhookReceiver.start();
    const herald = await WebhookReceiver.start();
    const server = await startHerald(
      {
        pusherApps: [{ ...APP, webhooks: [{ url: receiver.url, events: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'] }] }],
        webhooks: [{ url: herald.url, secret: 'whsec-0123456789abcdef', events: ['pusher.client_event'] }],
      },
      () => {},
    );
    const auth = await startAuthEndpoint(server.url);
    const clients: PusherClient[] = [];
    try {
      const alice = pusherClient(server.url, { authEndpoint: auth.url, user: 'alice' });
      const bob = pusherClient(server.url, { authEndpoint: auth.url, user: 'bob' });
      clients.push(alice, bob);
      const aliceRoom = await subscribed(alice, 'presence-room');
      const bobRoom = await subscribed(bob, 'presence-room');
      const greeting = nextEvent(bobRoom, 'client-hello');
      aliceRoom.trigger('client-hello', { hi: 'bob' });
      await greeting;
      const aliceSocket = alice.connection.socket_id;
      alice.disconnect();
      bob.disconnect();
      const received = (): any[] => receiver.received.flatMap((request) => serverLibrary(server.url).webhook({ headers: request.headers, rawBody: request.body }).getEvents());
      // Each event is its own delivery: they may arrive in any order.
      await receiver.until(() => received().length === 6, 20_000, 'occupied, two members added and removed, vacated');
      const added = received().filter((event) => event.name === 'member_added');
      const removed = received().filter((event) => event.name === 'member_removed');
      assert.deepEqual(added.map((event) => event.user_id).sort(), ['alice', 'bob']);
      assert.deepEqual(removed.map((event) => event.user_id).sort(), ['alice', 'bob']);
      assert.deepEqual(received().filter((event) => event.name.startsWith('channel_')).sort((x, y) => x.name.localeCompare(y.name)), [
        { name: 'channel_occupied', channel: 'presence-room' },
        { name: 'channel_vacated', channel: 'presence-room' },
      ]);
      assert.equal(received().filter((event) => event.name === 'client_event').length, 0, 'not listed for the app URL');
      // The Herald endpoint that lists pusher.client_event gets it in Herald's format.
      await herald.until(() => herald.received.length === 1, 20_000, 'pusher.client_event at the Herald endpoint');
      const event = JSON.parse(herald.received[0]!.body);
      assert.equal(event.type, 'pusher.client_event');
      assert.deepEqual(event.data, { app: APP.id, channel: 'presence-room', event: 'client-hello', data: '{"hi":"bob"}', socket_id: aliceSocket, user_id: 'alice' });
      assert.ok(herald.received[0]!.headers['herald-signature']);
    } finally {
      for (const client of clients) client.disconnect();
      await auth.close();
      await server.close();
      await receiver.close();
      await herald.close();
    }
  });

  test("one channel space: a Herald /connect subscriber of the mapped channel occupies the app's channel too", async () => {
    const receiver = await WebhookReceiver.start();
    const server = await startHerald({ pusherApps: [{ ...APP, webhooks: [{ url: receiver.url, events: ['channel_occupied', 'channel_vacated'] }] }], namespaces: { pusher: { subscribe: 'anyone' } } }, () => {});
    let pusher: PusherClient | undefined;
    try {
      const received = (): any[] => receiver.received.flatMap((request) => serverLibrary(server.url).webhook({ headers: request.headers, rawBody: request.body }).getEvents());
      const herald = await ProtocolClient.open(`${server.wsUrl}/connect`);
      assert.equal((await herald.request({ op: 'subscribe', channel: `pusher:${APP.id}:ticker~eu` })).type, 'reply');
      await receiver.until(() => received().length === 1, 20_000, 'channel_occupied');
      assert.deepEqual(received(), [{ name: 'channel_occupied', channel: 'ticker;eu' }]);
      pusher = pusherClient(server.url);
      await subscribed(pusher, 'ticker;eu');
      await herald.close();
      await waitFor(() => server.herald.stats().connections === 1, 5000, 'the /connect socket closed');
      // A marker after the close: a channel_vacated for the close would have been queued before it.
      await subscribed(pusher, 'marker');
      await receiver.until(() => received().some((event) => event.channel === 'marker'), 20_000, 'the marker');
      assert.deepEqual(received().filter((event) => event.channel === 'ticker;eu'), [{ name: 'channel_occupied', channel: 'ticker;eu' }], 'still occupied by the Pusher client');
      pusher.unsubscribe('ticker;eu');
      await receiver.until(() => received().some((event) => event.name === 'channel_vacated'), 20_000, 'channel_vacated');
      assert.deepEqual(received().filter((event) => event.channel === 'ticker;eu'), [
        { name: 'channel_occupied', channel: 'ticker;eu' },
        { name: 'channel_vacated', channel: 'ticker;eu' },
      ]);
    } finally {
      pusher?.disconnect();
      await server.close();
      await receiver.close();
    }
  });
});
