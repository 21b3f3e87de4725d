import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { postJson, startHerald, type RunningHerald } from './support/servers.ts';
import { asUser, installProtocolTestApp, protocolTestOptions } from './support/protocol-app.ts';
import { ProtocolClient } from './support/protocol-client.ts';
import { TestClient } from './support/ws-client.ts';

// The /connect protocol frame by frame, on one process with the embedded broker
// (the cluster behaviour is in recovery-cluster, presence-cluster and gap-repair tests).
describe('/connect protocol', () => {
  let server: RunningHerald;
  before(async () => {
    server = await startHerald({ ...protocolTestOptions, maxFrameBytes: 4096 }, installProtocolTestApp);
  });
  after(() => server.close());
  const open = (query = ''): Promise<ProtocolClient> => ProtocolClient.open(`${server.wsUrl}/connect${query}`);

  test('welcome names the connection and the user; ping answers with the request id', async () => {
    const anonymous = await open();
    assert.match(anonymous.welcome.connection, /^[\w-]+\.[0-9a-z]+$/);
    assert.deepEqual(anonymous.welcome, { type: 'welcome', connection: anonymous.welcome.connection, user: null, protocol: 1 });
    const alice = await open(`${await asUser('alice')}&protocol=1`);
    assert.equal(alice.welcome.user, 'alice');
    assert.notEqual(alice.welcome.connection, anonymous.welcome.connection);
    assert.deepEqual(await alice.request({ op: 'ping' }), { type: 'reply', id: 1, result: {} });
    alice.socket.send({ id: 'text-id', op: 'ping' });
    assert.deepEqual(JSON.parse(await alice.socket.next()), { type: 'reply', id: 'text-id', result: {} });
    await Promise.all([anonymous.close(), alice.close()]);
  });

  test('subscribe, publish and unsubscribe: exact replies and pushes with offsets', async () => {
    const client = await open();
    const subscribed = await client.request({ op: 'subscribe', channel: 'p1' });
    const epoch = subscribed.result.epoch;
    assert.equal(typeof epoch, 'string');
    assert.deepEqual(subscribed, { type: 'reply', id: 1, result: { channel: 'p1', recoverable: true, offset: 0, epoch } });
    assert.deepEqual(await client.request({ op: 'publish', channel: 'p1', data: { n: 1 } }), { type: 'reply', id: 2, result: { channel: 'p1', offset: 1, epoch } });
    assert.deepEqual(await client.push(), { type: 'pub', channel: 'p1', offset: 1, epoch, data: { n: 1 } });
    assert.deepEqual(await client.request({ op: 'unsubscribe', channel: 'p1' }), { type: 'reply', id: 3, result: { channel: 'p1' } });
    await client.request({ op: 'publish', channel: 'p1', data: 'after' });
    assert.equal(await client.silentFor(150), true);
    await client.close();
  });

  test('channels without history: recoverable false, publications without offsets', async () => {
    const client = await open();
    assert.deepEqual((await client.request({ op: 'subscribe', channel: 'plain:a' })).result, { channel: 'plain:a', recoverable: false });
    assert.deepEqual((await client.request({ op: 'publish', channel: 'plain:a', data: 1 })).result, { channel: 'plain:a' });
    assert.deepEqual(await client.push(), { type: 'pub', channel: 'plain:a', data: 1 });
    const refused = await client.request({ op: 'history', channel: 'plain:a' });
    assert.deepEqual(refused.error, { code: 'HERALD_ERR_HISTORY_DISABLED', message: 'plain:a keeps no history' });
    await client.close();
  });

  test('the same channels as the core: /connect reaches /ws/{channel} and HTTP reaches /connect', async () => {
    const client = await open();
    await client.request({ op: 'subscribe', channel: 'shared' });
    const raw = await TestClient.open(`${server.wsUrl}/ws/shared`);
    await client.request({ op: 'publish', channel: 'shared', data: 'from connect' });
    assert.equal(await raw.next(), 'from connect');
    assert.equal((await client.push()).data, 'from connect');
    raw.send('from raw');
    assert.deepEqual(await client.push(), { type: 'pub', channel: 'shared', offset: 2, epoch: (await client.request({ op: 'history', channel: 'shared', limit: 0 })).result.epoch, data: 'from raw' });
    assert.deepEqual((await postJson(`${server.url}/api/publish`, { channel: 'shared', data: { via: 'http' } })).body, { ok: true });
    assert.deepEqual((await client.push()).data, { via: 'http' });
    await Promise.all([client.close(), raw.close()]);
  });

  test('history: newest publications, after a position, limited, and empty for another epoch', async () => {
    const client = await open();
    for (let i = 1; i <= 4; i++) await client.request({ op: 'publish', channel: 'h1', data: i });
    const all = await client.request({ op: 'history', channel: 'h1' });
    const epoch = all.result.epoch;
    assert.deepEqual(all.result, {
      channel: 'h1',
      offset: 4,
      epoch,
      publications: [1, 2, 3, 4].map((n) => ({ offset: n, data: n })),
    });
    assert.deepEqual((await client.request({ op: 'history', channel: 'h1', limit: 2 })).result.publications, [{ offset: 3, data: 3 }, { offset: 4, data: 4 }]);
    assert.deepEqual((await client.request({ op: 'history', channel: 'h1', since: { offset: 1, epoch }, limit: 2 })).result.publications, [{ offset: 2, data: 2 }, { offset: 3, data: 3 }]);
    assert.deepEqual((await client.request({ op: 'history', channel: 'h1', since: { offset: 1, epoch: 'other' } })).result, { channel: 'h1', offset: 4, epoch, publications: [] });
    // A namespace keeping 5 publications keeps the newest 5.
    for (let i = 1; i <= 8; i++) await client.request({ op: 'publish', channel: 'small:x', data: i });
    assert.deepEqual((await client.request({ op: 'history', channel: 'small:x' })).result.publications.map((p: any) => p.offset), [4, 5, 6, 7, 8]);
    await client.close();
  });

  test('resubscribe with a position recovers exactly what was missed, or says recovered: false', async () => {
    const client = await open();
    const first = await client.request({ op: 'subscribe', channel: 'r1' });
    const epoch = first.result.epoch;
    await client.request({ op: 'publish', channel: 'r1', data: 'a' });
    await client.push();
    await client.request({ op: 'unsubscribe', channel: 'r1' });
    const publisher = await open();
    await publisher.request({ op: 'publish', channel: 'r1', data: 'b' });
    await publisher.request({ op: 'publish', channel: 'r1', data: 'c' });
    const recovered = await client.request({ op: 'subscribe', channel: 'r1', since: { offset: 1, epoch } });
    assert.deepEqual(recovered.result, {
      channel: 'r1', recoverable: true, offset: 3, epoch, recovered: true,
      publications: [{ offset: 2, data: 'b' }, { offset: 3, data: 'c' }],
    });
    await publisher.request({ op: 'publish', channel: 'r1', data: 'd' });
    assert.deepEqual(await client.push(), { type: 'pub', channel: 'r1', offset: 4, epoch, data: 'd' });
    await client.request({ op: 'unsubscribe', channel: 'r1' });

    const otherEpoch = await client.request({ op: 'subscribe', channel: 'r1', since: { offset: 4, epoch: 'gone' } });
    assert.deepEqual(otherEpoch.result, { channel: 'r1', recoverable: true, offset: 4, epoch, recovered: false });
    await client.request({ op: 'unsubscribe', channel: 'r1' });
    // Beyond the window: small: keeps 5.
    for (let i = 1; i <= 10; i++) await publisher.request({ op: 'publish', channel: 'small:r', data: i });
    const smallEpoch = (await client.request({ op: 'history', channel: 'small:r', limit: 0 })).result.epoch;
    const passed = await client.request({ op: 'subscribe', channel: 'small:r', since: { offset: 2, epoch: smallEpoch } });
    assert.deepEqual(passed.result, { channel: 'small:r', recoverable: true, offset: 10, epoch: smallEpoch, recovered: false });
    await Promise.all([client.close(), publisher.close()]);
  });

  test('idempotent publish: the same key on the same channel is accepted once (protocol and HTTP)', async () => {
    const client = await open();
    await client.request({ op: 'subscribe', channel: 'idem' });
    const first = await client.request({ op: 'publish', channel: 'idem', data: 'once', idempotencyKey: 'k1' });
    const again = await client.request({ op: 'publish', channel: 'idem', data: 'once', idempotencyKey: 'k1' });
    assert.equal(first.result.duplicate, undefined);
    assert.deepEqual(again.result, { ...first.result, duplicate: true });
    const elsewhere = await client.request({ op: 'publish', channel: 'idem-other', data: 'x', idempotencyKey: 'k1' });
    assert.equal(elsewhere.result.duplicate, undefined);
    const body = { channel: 'idem', data: 'via http', idempotencyKey: 'http-1' };
    assert.deepEqual((await postJson(`${server.url}/api/publish`, body)).body, { ok: true });
    assert.deepEqual((await postJson(`${server.url}/api/publish`, body)).body, { ok: true, duplicate: true });
    assert.deepEqual((await client.push()).data, 'once');
    assert.deepEqual((await client.push()).data, 'via http');
    assert.equal(await client.silentFor(150), true);
    await client.close();
  });

  test('private messages reach every connection of the user; the inbox channel cannot be named', async () => {
    const alice = await open(await asUser('alice'));
    const bob1 = await open(await asUser('bob'));
    const bob2 = await open(await asUser('bob'));
    assert.deepEqual((await alice.request({ op: 'send', user: 'bob', data: { text: 'hi' } })).result, { user: 'bob', live: true, stored: false, online: true });
    const expected = { type: 'message', from: 'alice', data: { text: 'hi' } };
    assert.deepEqual(await bob1.push(), expected);
    assert.deepEqual(await bob2.push(), expected);
    assert.equal(await alice.silentFor(100), true);
    assert.deepEqual((await alice.request({ op: 'send', user: 'nobody', data: 1 })).result, { user: 'nobody', live: false, stored: false, online: false });
    const named = await alice.request({ op: 'subscribe', channel: '#user:bob' });
    assert.equal(named.error.code, 'HERALD_ERR_BAD_REQUEST');
    const viaRaw = await TestClient.open(`${server.wsUrl}/ws/%23user:bob`);
    assert.equal((await viaRaw.closed).code, 1008);
    await Promise.all([alice.close(), bob1.close(), bob2.close()]);
  });

  test('presence: query, join and leave pushes (on unsubscribe and on disconnect)', async () => {
    const watcher = await open(await asUser('watcher'));
    await watcher.request({ op: 'subscribe', channel: 'room:p' });
    const ownJoin = await watcher.push();
    assert.equal(ownJoin.type, 'join');
    const carol = await open(await asUser('carol'));
    await carol.request({ op: 'subscribe', channel: 'room:p', info: { device: 'phone' } });
    const carolEntry = { connection: carol.welcome.connection, user: 'carol', info: { device: 'phone' } };
    assert.deepEqual(await watcher.push(), { type: 'join', channel: 'room:p', client: carolEntry });
    const listed = (await watcher.request({ op: 'presence', channel: 'room:p' })).result;
    assert.deepEqual(
      listed.clients.sort((a: any, b: any) => a.user.localeCompare(b.user)),
      [carolEntry, { connection: watcher.welcome.connection, user: 'watcher' }],
    );
    await carol.request({ op: 'unsubscribe', channel: 'room:p' });
    assert.deepEqual(await watcher.push(), { type: 'leave', channel: 'room:p', client: { connection: carol.welcome.connection, user: 'carol' } });
    const dave = await open(await asUser('dave'));
    await dave.request({ op: 'subscribe', channel: 'room:p' });
    assert.equal((await watcher.push()).type, 'join');
    await dave.close();
    assert.deepEqual(await watcher.push(), { type: 'leave', channel: 'room:p', client: { connection: dave.welcome.connection, user: 'dave' } });
    assert.equal((await watcher.request({ op: 'presence', channel: 'room:p' })).result.clients.length, 1);
    // A raw socket on a presence channel gets data only, never join/leave events.
    const raw = await TestClient.open(`${server.wsUrl}/ws/room:p`);
    const eve = await open(await asUser('eve'));
    await eve.request({ op: 'subscribe', channel: 'room:p' });
    await eve.request({ op: 'publish', channel: 'room:p', data: 'hello room' });
    assert.equal(await raw.next(), 'hello room');
    assert.equal(await raw.silentFor(100), true);
    await Promise.all([watcher.close(), carol.close(), eve.close(), raw.close()]);
  });

  test('bad input gets a typed error reply with the request id, and the socket stays usable', async () => {
    const client = await open();
    const cases: Array<[string, string, string | RegExp]> = [
      ['{not json', 'HERALD_ERR_BAD_JSON', 'The frame is not valid JSON'],
      ['[1,2]', 'HERALD_ERR_BAD_REQUEST', 'A request is a JSON object with an "op"'],
      ['{"id":{"a":1},"op":"ping"}', 'HERALD_ERR_BAD_REQUEST', '"id" must be an integer or a string of at most 64 characters'],
    ];
    for (const [text, code, message] of cases) {
      assert.deepEqual(await client.raw(text), { type: 'reply', error: { code, message } }, text);
    }
    const withId: Array<[object, string, string | RegExp]> = [
      [{}, 'HERALD_ERR_BAD_REQUEST', '"op" is required'],
      [{ op: 'fly' }, 'HERALD_ERR_UNKNOWN_OP', /^Unknown op "fly"/],
      [{ op: 'subscribe' }, 'HERALD_ERR_BAD_REQUEST', '"channel" is required'],
      [{ op: 'subscribe', channel: 42 }, 'HERALD_ERR_BAD_REQUEST', /^Invalid channel name 42/],
      [{ op: 'subscribe', channel: 'bad name' }, 'HERALD_ERR_BAD_REQUEST', /^Invalid channel name "bad name"/],
      [{ op: 'subscribe', channel: 'x', since: { offset: 'one', epoch: 'e' } }, 'HERALD_ERR_BAD_REQUEST', /^"since" must be/],
      [{ op: 'subscribe', channel: 'x', info: 'y'.repeat(2000) }, 'HERALD_ERR_BAD_REQUEST', '"info" must be at most 1024 bytes of JSON'],
      [{ op: 'publish', channel: 'x' }, 'HERALD_ERR_BAD_REQUEST', '"data" is required'],
      [{ op: 'publish', channel: 'x', data: 1, idempotencyKey: 7 }, 'HERALD_ERR_BAD_REQUEST', /^"idempotencyKey" must be/],
      [{ op: 'publish', channel: 'locked:x', data: 1 }, 'HERALD_ERR_PERMISSION_DENIED', 'Not allowed to publish to locked:x'],
      [{ op: 'refresh', token: '' }, 'HERALD_ERR_BAD_REQUEST', '"token" must be a non-empty string'],
      [{ op: 'send', user: 'bob', data: 1 }, 'HERALD_ERR_IDENTITY_REQUIRED', 'Anonymous connections cannot send private messages'],
      [{ op: 'send', user: '', data: 1 }, 'HERALD_ERR_BAD_REQUEST', /^"user" must be a user id/],
      [{ op: 'history', channel: 'x', limit: -1 }, 'HERALD_ERR_BAD_REQUEST', '"limit" must be an integer >= 0'],
      [{ op: 'presence', channel: 'x' }, 'HERALD_ERR_PRESENCE_DISABLED', 'x keeps no presence'],
      [{ op: 'unsubscribe', channel: 'never' }, 'HERALD_ERR_NOT_SUBSCRIBED', 'Not subscribed to never'],
    ];
    for (const [frame, code, message] of withId) {
      const reply = await client.request(frame);
      assert.equal(reply.error?.code, code, JSON.stringify(frame));
      if (typeof message === 'string') assert.equal(reply.error.message, message);
      else assert.match(reply.error.message, message);
      assert.equal(reply.result, undefined);
    }
    await client.request({ op: 'subscribe', channel: 'twice' });
    const twice = await client.request({ op: 'subscribe', channel: 'twice' });
    assert.deepEqual(twice.error, { code: 'HERALD_ERR_ALREADY_SUBSCRIBED', message: 'Already subscribed to twice' });
    // Still usable, and still subscribed once.
    await client.request({ op: 'publish', channel: 'twice', data: 'still here' });
    assert.equal((await client.push()).data, 'still here');
    assert.equal(await client.silentFor(100), true);
    assert.deepEqual((await client.request({ op: 'ping' })).result, {});
    await client.close();
  });

  test('close codes: unsupported protocol 4501, binary frame 1003, oversized frame 1009, invalid UTF-8 1007', async () => {
    const wrongVersion = await TestClient.open(`${server.wsUrl}/connect?protocol=2`);
    assert.deepEqual(await wrongVersion.closed, { code: 4501, reason: 'Unsupported protocol version "2": this server speaks 1' });
    const binary = await ProtocolClient.open(`${server.wsUrl}/connect`);
    binary.socket.ws.send(Buffer.from([1, 2, 3]));
    assert.equal((await binary.socket.closed).code, 1003);
    const big = await ProtocolClient.open(`${server.wsUrl}/connect`);
    big.socket.send({ op: 'publish', channel: 'x', data: 'z'.repeat(5000) });
    assert.equal((await big.socket.closed).code, 1009);
    const badUtf8 = await ProtocolClient.open(`${server.wsUrl}/connect`);
    badUtf8.socket.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    assert.equal((await badUtf8.socket.closed).code, 1007);
  });
});
