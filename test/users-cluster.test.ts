import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Herald, type PrivateMessage, type UserStatusChange } from '../client/node.ts';
import { asUser } from './support/protocol-app.ts';
import { deleteKeys, postJson, REDIS_URL, spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { hs256Token, TEST_SECRET } from './support/tokens.ts';
import { SwitchingProxy } from './support/switching-proxy.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';
import { TestClient } from './support/ws-client.ts';

const SCRIPT = 'test/support/users-server.ts';
const SECRET = 'whsec-cluster-0123456789abcdef';
const TTL_MS = 1500;

const portOf = (server: HeraldProcess): number => Number(new URL(server.url).port);

// Three processes sharing Redis, each with every webhook event going to one real receiver; a short
// presence TTL so that a killed process's users go offline quickly.
describe('users across processes (Redis)', () => {
  const prefix = uniquePrefix();
  let receiver: WebhookReceiver;
  let a: HeraldProcess;
  let b: HeraldProcess;
  const sockets: TestClient[] = [];
  const clients: Herald[] = [];
  const open = async (server: HeraldProcess, user: string): Promise<TestClient> => {
    const socket = await TestClient.open(`${server.wsUrl}/connect${await asUser(user)}`);
    sockets.push(socket);
    assert.equal(((await socket.nextJson()) as { type: string }).type, 'welcome');
    return socket;
  };
  let env: Record<string, string>;

  before(async () => {
    receiver = await WebhookReceiver.start();
    env = {
      REDIS_URL,
      HERALD_REDIS_PREFIX: prefix,
      HERALD_JWT_SECRET: TEST_SECRET,
      HERALD_PRESENCE_TTL_MS: String(TTL_MS),
      HERALD_WEBHOOK_OFFLINE_DELAY_MS: '500',
      HERALD_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret: SECRET, events: ['*'] }]),
    };
    [a, b] = await Promise.all([spawnHerald(env, SCRIPT), spawnHerald(env, SCRIPT)]);
  });
  after(async () => {
    for (const socket of sockets) socket.ws.terminate();
    for (const client of clients) client.close();
    await Promise.all([a.stop(), b.stop()]);
    await receiver.close();
    await deleteKeys(prefix);
  });

  /**
   * Waits for the webhook that proves a quiet period is over: `user`'s user.offline, sent after the
   * debounce. A duplicate of anything emitted before it would have been delivered by then.
   */
  const sentinel = async (user: string): Promise<void> => {
    const socket = await open(a, user);
    socket.ws.close();
    await receiver.until((r) => r.events('user.offline', (data) => data.user === user).length === 1, 15_000, `${user}'s user.offline`);
  };

  test('two processes: user.online, user.offline, channel.occupied and channel.vacated are each sent once', async () => {
    const [onA, onB] = await Promise.all([open(a, 'kim'), open(b, 'kim')]);
    await receiver.until((r) => r.events('user.online', (data) => data.user === 'kim').length === 1, 10_000, "kim's user.online");
    onA.send({ op: 'subscribe', id: 1, channel: 'room:lobby' });
    onB.send({ op: 'subscribe', id: 1, channel: 'room:lobby' });
    assert.equal(((await onA.nextJson()) as { result: { channel: string } }).result.channel, 'room:lobby');
    assert.equal(((await onB.nextJson()) as { result: { channel: string } }).result.channel, 'room:lobby');
    await receiver.until((r) => r.events('channel.occupied', (data) => data.channel === 'room:lobby').length === 1, 10_000, 'channel.occupied');
    await Promise.all([onA.close(), onB.close()]);
    await receiver.until(
      (r) => r.events('user.offline', (data) => data.user === 'kim').length === 1 && r.events('channel.vacated', (data) => data.channel === 'room:lobby').length === 1,
      10_000,
      "kim's user.offline and channel.vacated",
    );
    await sentinel('sentinel-1');
    assert.deepEqual(
      receiver.events(undefined, (data) => data?.user === 'kim' || data?.channel === 'room:lobby').map((event) => event.type).sort(),
      ['channel.occupied', 'channel.vacated', 'user.offline', 'user.online'],
    );
    const ids = receiver.events().map((event) => event.id);
    assert.equal(new Set(ids).size, ids.length, 'no event id twice');
  });

  test('status pushes reach a watcher on another process; the online status of 1,000 users comes in one request', async () => {
    const watcher = new Herald(`${a.wsUrl}/connect`, { token: () => hs256Token('watcher') }).connect();
    clients.push(watcher);
    const changes: UserStatusChange[] = [];
    watcher.on('status', (change) => changes.push(change));
    assert.deepEqual(await watcher.watchStatus(['lea']), { lea: { online: false, lastSeen: null } });
    const lea = await open(b, 'lea');
    await waitFor(() => changes.length === 1, 5000, 'the online push');
    assert.deepEqual(changes[0], { user: 'lea', online: true, lastSeen: null });
    const online = await Promise.all(Array.from({ length: 10 }, (_, i) => open(i % 2 === 0 ? a : b, `many-${i * 100}`)));
    const users = Array.from({ length: 1000 }, (_, i) => `many-${i}`);
    const started = Date.now();
    const reply = await postJson(`${a.url}/api/users/online`, { users });
    assert.equal(reply.status, 200);
    assert.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms`);
    assert.equal(Object.keys(reply.body).length, 1000);
    for (const [i, user] of users.entries()) assert.deepEqual(reply.body[user], { online: i % 100 === 0, lastSeen: null }, user);
    const viaSocket = await watcher.online(users);
    assert.deepEqual(viaSocket, reply.body);
    await lea.close();
    await waitFor(() => changes.length === 2, 5000, 'the offline push');
    assert.equal(changes[1]!.online, false);
    assert.equal(typeof changes[1]!.lastSeen, 'number');
    assert.deepEqual(await watcher.online(['lea']), { lea: { online: false, lastSeen: changes[1]!.lastSeen } });
    await Promise.all(online.map((socket) => socket.close()));
  });

  test("a killed process's user goes offline within the presence TTL: one status push, one user.offline", async () => {
    const c = await spawnHerald(env, SCRIPT);
    try {
      const watcher = await open(a, 'watcher-2');
      watcher.send({ op: 'watch', id: 'w', users: ['cal'] });
      assert.deepEqual(await watcher.nextJson(), { type: 'reply', id: 'w', result: { cal: { online: false, lastSeen: null } } });
      await open(c, 'cal');
      const pushedOnline = (await watcher.nextJson()) as Record<string, unknown>;
      assert.deepEqual(pushedOnline, { type: 'status', user: 'cal', online: true, lastSeen: null });
      await receiver.until((r) => r.events('user.online', (data) => data.user === 'cal').length === 1, 10_000, "cal's user.online");
      c.child.kill('SIGKILL');
      await c.exited;
      const killed = Date.now();
      const pushedOffline = (await watcher.nextJson(TTL_MS * 3)) as { type: string; user: string; online: boolean; lastSeen: number };
      const tookMs = Date.now() - killed;
      assert.deepEqual({ ...pushedOffline, lastSeen: 0 }, { type: 'status', user: 'cal', online: false, lastSeen: 0 });
      // The TTL plus a sweep interval, and slack for timers on a loaded machine.
      assert.ok(tookMs <= TTL_MS + TTL_MS / 3 + 1500, `offline after ${tookMs} ms`);
      await receiver.until((r) => r.events('user.offline', (data) => data.user === 'cal').length === 1, 10_000, "cal's user.offline");
      await sentinel('sentinel-2');
      assert.equal(receiver.events('user.offline', (data) => data.user === 'cal').length, 1);
      assert.equal(await watcher.silentFor(0), true, 'one status push for the crash');
    } finally {
      await c.stop('SIGKILL');
    }
  });

  test("a process that shuts down queues its users' offline checks before it lets go of the task queue", async () => {
    const d = await spawnHerald(env, SCRIPT);
    try {
      await open(d, 'sid');
      await receiver.until((r) => r.events('user.online', (data) => data.user === 'sid').length === 1, 10_000, "sid's user.online");
      assert.equal(await d.stop('SIGTERM'), 0);
      // Sent by a surviving process's worker once the debounce has passed.
      await receiver.until((r) => r.events('user.offline', (data) => data.user === 'sid').length === 1, 10_000, "sid's user.offline");
    } finally {
      await d.stop('SIGKILL');
    }
  });

  test('100 messages stored for an offline user are delivered in order, once each, across a process kill in the middle of delivery', async () => {
    const c = await spawnHerald(env, SCRIPT);
    const proxy = new SwitchingProxy(portOf(c));
    await proxy.listen();
    const redis = new Redis(REDIS_URL);
    try {
      for (let n = 0; n < 100; n++) {
        const reply = await postJson(`${b.url}/api/users/mia/messages`, { data: { n }, from: 'sender', store: true });
        assert.deepEqual({ ...reply.body, inbox: 'id' }, { user: 'mia', live: false, stored: true, online: false, inbox: 'id' });
      }
      const handled: number[] = [];
      const replayed: boolean[] = [];
      const mia = new Herald(`ws://127.0.0.1:${proxy.port}/connect`, { token: () => hs256Token('mia'), minReconnectDelayMs: 50, maxReconnectDelayMs: 200 });
      clients.push(mia);
      const connections: string[] = [];
      mia.on('connected', ({ connection }) => connections.push(connection));
      mia.onMessage(async (message: PrivateMessage) => {
        handled.push((message.data as { n: number }).n);
        replayed.push(message.replayed === true);
        if (handled.length === 40) {
          // In the middle of delivery: the next connection goes to another process, and this one dies
          // with acknowledgements of the messages just handled still on their way.
          proxy.target = portOf(a);
          c.child.kill('SIGKILL');
        }
        await new Promise((resolve) => setImmediate(resolve));
      });
      mia.connect();
      await waitFor(() => handled.length >= 100, 30_000, 'all 100 messages');
      await waitFor(async () => (await redis.xlen(`${prefix}{user:mia}:inbox`)) === 0, 10_000, 'every message acknowledged');
      assert.deepEqual(handled, Array.from({ length: 100 }, (_, n) => n));
      assert.ok(replayed.every(Boolean), 'each was marked as stored while away');
      assert.ok(connections.length >= 2, 'the client reconnected to another process');
      const again = await postJson(`${a.url}/api/users/mia/messages`, { data: { n: 100 }, store: true });
      assert.equal(again.body.live, true);
      await waitFor(() => handled.length === 101, 5000, 'a live stored message');
      assert.equal(handled[100], 100);
      assert.equal(replayed[100], false);
      mia.close();
    } finally {
      redis.disconnect();
      await proxy.close();
      await c.stop('SIGKILL');
    }
  });
});
