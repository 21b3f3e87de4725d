import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Echo from 'laravel-echo';
import { ProtocolClient } from './support/protocol-client.ts';
import { APP, PusherClient, connected, nextEvent, pusherClient, serverLibrary, startAuthEndpoint, subscribed } from './support/pusher.ts';
import { REDIS_URL, deleteKeys, spawnHerald, uniquePrefix, type HeraldProcess } from './support/servers.ts';

/**
 * Two Herald processes on one Redis: Pusher clients on one, the server library's calls and Herald's
 * own `/connect` clients on the other, all on one channel space.
 */
describe('the Pusher protocol across two processes on Redis (pusher-js, laravel-echo, the pusher library)', () => {
  const prefix = uniquePrefix();
  let a: HeraldProcess;
  let b: HeraldProcess;
  let auth: Awaited<ReturnType<typeof startAuthEndpoint>>;
  const clients: PusherClient[] = [];
  const echoes: Echo<'pusher'>[] = [];

  before(async () => {
    const env = {
      REDIS_URL,
      HERALD_REDIS_PREFIX: prefix,
      HERALD_DEMOS: 'false',
      HERALD_PUSHER_APPS: JSON.stringify([APP]),
      // Herald's own clients may read the Pusher channels here (closed unless configured).
      HERALD_NAMESPACES: JSON.stringify({ pusher: { subscribe: 'anyone', publish: true } }),
    };
    [a, b] = await Promise.all([spawnHerald(env), spawnHerald(env)]);
    auth = await startAuthEndpoint(a.url);
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    for (const echo of echoes) echo.disconnect();
    await auth.close();
    await Promise.all([a.stop(), b.stop()]);
    await deleteKeys(prefix);
  });

  const client = (url: string, user?: string): PusherClient => {
    const made = pusherClient(url, { authEndpoint: auth.url, user });
    clients.push(made);
    return made;
  };

  const echo = (url: string, user: string): Echo<'pusher'> => {
    const { hostname, port } = new URL(url);
    const made = new Echo({
      broadcaster: 'pusher',
      key: APP.key,
      cluster: 'herald',
      wsHost: hostname,
      wsPort: Number(port),
      forceTLS: false,
      enabledTransports: ['ws'],
      disableStats: true,
      authEndpoint: `${auth.url}/auth?user=${user}`,
      Pusher: PusherClient as never,
    });
    echoes.push(made);
    return made;
  };

  test('an event triggered on process B reaches pusher-js on A and Herald /connect subscribers of the mapped channel, and the reverse', async () => {
    const alice = await connected(client(a.url));
    const channel = await subscribed(alice, 'news;eu');
    const herald = await ProtocolClient.open(`${b.wsUrl}/connect`);
    const reply = await herald.request({ op: 'subscribe', channel: `pusher:${APP.id}:news~eu` });
    assert.equal(reply.type, 'reply', JSON.stringify(reply));
    const got = nextEvent(channel, 'headline');
    await serverLibrary(b.url).trigger('news;eu', 'headline', { title: 'from B' });
    assert.deepEqual(await got, { title: 'from B' });
    const push = await herald.push();
    assert.equal(push.channel, `pusher:${APP.id}:news~eu`);
    assert.deepEqual(push.data, { event: 'headline', data: JSON.stringify({ title: 'from B' }) });
    // The reverse: a Herald publication reaches the Pusher client as `herald:publication`.
    const fromHerald = nextEvent(channel, 'herald:publication');
    const published = await herald.request({ op: 'publish', channel: `pusher:${APP.id}:news~eu`, data: { n: 1 } });
    assert.equal(published.type, 'reply', JSON.stringify(published));
    assert.deepEqual(await fromHerald, { n: 1 });
    await herald.close();
  });

  test('presence across processes: member_added and member_removed once per user, whichever process its connections are on', async () => {
    const alice = client(a.url, 'alice');
    const room = (await subscribed(alice, 'presence-hall')) as any;
    const added: any[] = [];
    const removed: any[] = [];
    room.bind('pusher:member_added', (member: any) => added.push(member));
    room.bind('pusher:member_removed', (member: any) => removed.push(member));
    const bobOnA = client(a.url, 'bob');
    const bobOnB = client(b.url, 'bob');
    const bobHere = nextEvent(room, 'pusher:member_added');
    await Promise.all([subscribed(bobOnA, 'presence-hall'), subscribed(bobOnB, 'presence-hall')]);
    assert.deepEqual(await bobHere, { id: 'bob', info: { name: 'BOB' } });
    const pusher = serverLibrary(b.url);
    assert.deepEqual(await (await pusher.get({ path: '/channels/presence-hall/users' })).json(), { users: [{ id: 'alice' }, { id: 'bob' }] });
    bobOnB.disconnect();
    const count = async () => ((await (await pusher.get({ path: '/channels/presence-hall', params: { info: 'subscription_count' } })).json()) as any).subscription_count;
    for (let i = 0; (await count()) !== 2; i++) {
      assert.ok(i < 250, 'the presence entry of the closed connection is removed');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const gone = nextEvent(room, 'pusher:member_removed');
    bobOnA.disconnect();
    assert.deepEqual(await gone, { id: 'bob', info: { name: 'BOB' } });
    const marker = nextEvent(room, 'marker');
    await pusher.trigger('presence-hall', 'marker', {});
    await marker;
    assert.equal(added.length, 1);
    assert.equal(removed.length, 1);
    const listed = await (await pusher.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })).json();
    assert.deepEqual((listed as any).channels['presence-hall'], { user_count: 1 });
  });

  test('Laravel Echo: public, private and presence channels, whispers, across processes', async () => {
    const ada = echo(a.url, 'ada');
    const bob = echo(b.url, 'bob');
    const shipped = new Promise((resolve) => ada.channel('orders').listen('.OrderShipped', resolve));
    const privateOrder = new Promise((resolve) => ada.private('user.ada').listen('.Paid', resolve));
    const here = new Promise<any[]>((resolve) => ada.join('lobby').here(resolve));
    await here;
    const joining = new Promise((resolve) => ada.join('lobby').joining(resolve));
    const bobHere = new Promise<any[]>((resolve) => bob.join('lobby').here(resolve));
    assert.deepEqual((await bobHere).map((member) => member.name).sort(), ['ADA', 'BOB']);
    assert.deepEqual(await joining, { name: 'BOB' });
    const whisper = new Promise((resolve) => ada.join('lobby').listenForWhisper('typing', resolve));
    bob.join('lobby').whisper('typing', { name: 'bob' });
    assert.deepEqual(await whisper, { name: 'bob' });
    await waitSubscribed(ada, ['orders', 'private-user.ada']);
    const pusher = serverLibrary(b.url);
    await pusher.trigger('orders', 'OrderShipped', { id: 1 });
    await pusher.trigger('private-user.ada', 'Paid', { amount: 5 });
    assert.deepEqual(await shipped, { id: 1 });
    assert.deepEqual(await privateOrder, { amount: 5 });
    const leaving = new Promise((resolve) => ada.join('lobby').leaving(resolve));
    bob.leave('lobby');
    assert.deepEqual(await leaving, { name: 'BOB' });
  });

  test('terminate_connections on process B closes the user\'s sockets on A', async () => {
    const carol = await connected(client(a.url, 'carol'));
    carol.signin();
    for (let i = 0; (carol.user as any).serverToUserChannel?.subscribed !== true; i++) {
      assert.ok(i < 250, 'signed in');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const terminated = nextEvent(carol.connection, 'error');
    await serverLibrary(b.url).terminateUserConnections('carol');
    assert.deepEqual(((await terminated) as any).data, { code: 4009, message: 'Connections of this user were terminated' });
  });
});

async function waitSubscribed(echo: Echo<'pusher'>, names: string[]): Promise<void> {
  const pusher = echo.connector.pusher;
  for (let i = 0; !names.every((name) => pusher.channel(name)?.subscribed === true); i++) {
    assert.ok(i < 500, `subscribed to ${names.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
