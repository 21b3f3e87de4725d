import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Herald } from '../client/node.ts';
import { asUser } from './support/protocol-app.ts';
import { postJson, startHerald, waitFor, type RunningHerald } from './support/servers.ts';
import { hs256Token, TEST_SECRET } from './support/tokens.ts';
import { TestClient } from './support/ws-client.ts';

// The users ops of /connect on one process, frame by frame (docs/protocol.md, docs/users.md).
describe('/connect users ops: send with store, ack, online, watch', () => {
  let server: RunningHerald;
  const sockets: TestClient[] = [];
  const connect = async (user?: string): Promise<TestClient> => {
    const socket = await TestClient.open(`${server.wsUrl}/connect${user === undefined ? '' : await asUser(user)}`);
    sockets.push(socket);
    assert.equal(((await socket.nextJson()) as { type: string }).type, 'welcome');
    return socket;
  };
  const request = async (socket: TestClient, frame: object): Promise<unknown> => {
    socket.send(frame);
    return socket.nextJson();
  };

  before(async () => {
    server = await startHerald({ jwtSecret: TEST_SECRET, allowAnonymous: true, inboxMaxMessages: 3 }, () => {});
  });
  after(async () => {
    for (const socket of sockets) socket.ws.terminate();
    await server.close();
  });

  test('a stored message for an offline user is replayed at connect, marked, until acknowledged', async () => {
    const ann = await connect('ann');
    const sent = (await request(ann, { op: 'send', id: 1, user: 'ben', data: { text: 'hi' }, store: true })) as { result: { inbox: string } };
    const inbox = sent.result.inbox;
    assert.match(inbox, /^\d+-\d+$/);
    assert.deepEqual(sent, { type: 'reply', id: 1, result: { user: 'ben', live: false, stored: true, inbox, online: false } });
    const sentAt = Number(inbox.split('-')[0]);
    const ben = await connect('ben');
    assert.deepEqual(await ben.nextJson(), { type: 'message', from: 'ann', data: { text: 'hi' }, inbox, sentAt, replayed: true });
    // Not acknowledged: the next connection gets it again.
    await ben.close();
    const benAgain = await connect('ben');
    assert.deepEqual(await benAgain.nextJson(), { type: 'message', from: 'ann', data: { text: 'hi' }, inbox, sentAt, replayed: true });
    assert.deepEqual(await request(benAgain, { op: 'ack', id: 2, ids: [inbox] }), { type: 'reply', id: 2, result: { acked: 1 } });
    await benAgain.close();
    const benThird = await connect('ben');
    assert.equal(await benThird.silentFor(300), true);
    // Live and stored: pushed now with its inbox id, and kept until acknowledged.
    const both = (await request(ann, { op: 'send', id: 3, user: 'ben', data: 'live', store: true })) as { result: { inbox: string; live: boolean; stored: boolean } };
    assert.equal(both.result.live, true);
    assert.equal(both.result.stored, true);
    assert.deepEqual(await benThird.nextJson(), { type: 'message', from: 'ann', data: 'live', inbox: both.result.inbox, sentAt: Number(both.result.inbox.split('-')[0]) });
    assert.deepEqual(await request(benThird, { op: 'ack', id: 4, ids: [both.result.inbox] }), { type: 'reply', id: 4, result: { acked: 1 } });
    // Without store: live only, nothing kept.
    assert.deepEqual(await request(ann, { op: 'send', id: 5, user: 'ben', data: 'plain' }), { type: 'reply', id: 5, result: { user: 'ben', live: true, stored: false, online: true } });
    assert.deepEqual(await benThird.nextJson(), { type: 'message', from: 'ann', data: 'plain' });
  });

  test('a full inbox refuses the message: the sender is told, nothing is sent', async () => {
    const ann = await connect('ann');
    for (let n = 0; n < 3; n++) assert.equal(((await request(ann, { op: 'send', id: n, user: 'cid', data: n, store: true })) as { result: { stored: boolean } }).result.stored, true);
    assert.deepEqual(await request(ann, { op: 'send', id: 9, user: 'cid', data: 3, store: true }), {
      type: 'reply',
      id: 9,
      error: { code: 'HERALD_ERR_INBOX_FULL', message: 'The inbox of "cid" is full: the message was neither stored nor sent' },
    });
    const http = await postJson(`${server.url}/api/users/cid/messages`, { data: 3, store: true });
    assert.equal(http.status, 429);
    assert.equal(http.body.error.code, 'HERALD_ERR_INBOX_FULL');
  });

  test('online and watch answer each user; status pushes follow; bad requests get typed errors', async () => {
    const eve = await connect('eve');
    assert.deepEqual(await request(eve, { op: 'online', id: 1, users: ['fay', 'eve'] }), { type: 'reply', id: 1, result: { fay: { online: false, lastSeen: null }, eve: { online: true, lastSeen: null } } });
    assert.deepEqual(await request(eve, { op: 'watch', id: 2, users: ['fay'] }), { type: 'reply', id: 2, result: { fay: { online: false, lastSeen: null } } });
    const fay = await connect('fay');
    assert.deepEqual(await eve.nextJson(), { type: 'status', user: 'fay', online: true, lastSeen: null });
    await fay.close();
    const offline = (await eve.nextJson()) as { lastSeen: number };
    assert.deepEqual(offline, { type: 'status', user: 'fay', online: false, lastSeen: offline.lastSeen });
    assert.deepEqual(await request(eve, { op: 'unwatch', id: 3, users: ['fay'] }), { type: 'reply', id: 3, result: { users: ['fay'] } });
    await (await connect('fay')).close();
    assert.equal(await eve.silentFor(300), true, 'no push after unwatch');

    const badUsers = { code: 'HERALD_ERR_BAD_REQUEST', message: '"users" must be an array of 1-1000 user ids (1-100 letters, digits or _ - . @ = + , ~)' };
    assert.deepEqual(await request(eve, { op: 'online', id: 4, users: [] }), { type: 'reply', id: 4, error: badUsers });
    assert.deepEqual(await request(eve, { op: 'online', id: 5, users: ['a b'] }), { type: 'reply', id: 5, error: badUsers });
    assert.deepEqual(await request(eve, { op: 'ack', id: 6, ids: ['nope'] }), {
      type: 'reply',
      id: 6,
      error: { code: 'HERALD_ERR_BAD_REQUEST', message: '"ids" must be an array of 1-1000 inbox ids (from the "inbox" field of message pushes)' },
    });
    assert.deepEqual(await request(eve, { op: 'send', id: 7, user: 'fay', data: 1, store: 'yes' }), { type: 'reply', id: 7, error: { code: 'HERALD_ERR_BAD_REQUEST', message: '"store" must be true or false' } });
    const many = Array.from({ length: 1000 }, (_, i) => `w${i}`);
    assert.equal(((await request(eve, { op: 'watch', id: 8, users: many })) as { result: object }).result !== undefined, true);
    assert.deepEqual(await request(eve, { op: 'watch', id: 9, users: ['one-more'] }), {
      type: 'reply',
      id: 9,
      error: { code: 'HERALD_ERR_TOO_MANY_WATCHED', message: 'A connection may watch at most 1000 users (1000 already)' },
    });

    const anonymous = await connect();
    assert.deepEqual(await request(anonymous, { op: 'online', id: 1, users: ['eve'] }), { type: 'reply', id: 1, error: { code: 'HERALD_ERR_PERMISSION_DENIED', message: 'Not allowed to subscribe to status:eve' } });
    assert.deepEqual(await request(anonymous, { op: 'ack', id: 2, ids: ['1-0'] }), { type: 'reply', id: 2, error: { code: 'HERALD_ERR_IDENTITY_REQUIRED', message: 'Anonymous connections have no inbox' } });
  });

  test('the SDK acknowledges a stored message only after its handler returned: a throwing handler gets it again on the next connection', async () => {
    await postJson(`${server.url}/api/users/gus/messages`, { data: 'once', from: 'ann', store: true });
    const gus = new Herald(`${server.wsUrl}/connect`, { token: () => hs256Token('gus') });
    const calls: Array<[unknown, boolean]> = [];
    let failNext = true;
    gus.onMessage((message) => {
      calls.push([message.data, message.replayed === true]);
      if (failNext) {
        failNext = false;
        throw new Error('the app could not handle it this time');
      }
    });
    try {
      gus.connect();
      await waitFor(() => calls.length === 1, 5000, 'the first delivery');
      gus.close();
      gus.connect();
      await waitFor(() => calls.length === 2, 5000, 'the delivery again');
      await gus.ping();
      gus.close();
      // Acknowledged now: a new connection gets nothing, while a new message still arrives.
      const delivered = new Promise((resolve) => gus.onMessage(resolve));
      const connected = new Promise((resolve) => gus.on('connected', resolve));
      gus.connect();
      await connected;
      await gus.ping();
      await postJson(`${server.url}/api/users/gus/messages`, { data: 'next', store: true });
      await delivered;
      await gus.ping();
      assert.deepEqual(calls, [['once', true], ['once', true], ['next', false]]);
    } finally {
      gus.close();
    }
  });

  test('an anonymous connection that signs in with refresh gets the stored messages and counts as online', async () => {
    const sent = await postJson(`${server.url}/api/users/hal/messages`, { data: 'kept', store: true });
    const socket = await connect();
    const token = (await asUser('hal')).slice('?token='.length);
    socket.send({ op: 'refresh', id: 1, token });
    assert.deepEqual(await socket.nextJson(), { type: 'message', from: null, data: 'kept', inbox: sent.body.inbox, sentAt: Number(sent.body.inbox.split('-')[0]), replayed: true });
    const reply = (await socket.nextJson()) as { result: { expiresAt: number } };
    assert.deepEqual(reply, { type: 'reply', id: 1, result: { user: 'hal', expiresAt: reply.result.expiresAt } });
    assert.deepEqual((await postJson(`${server.url}/api/users/online`, { users: ['hal'] })).body, { hal: { online: true, lastSeen: null } });
    await socket.close();
    const after = (await postJson(`${server.url}/api/users/online`, { users: ['hal'] })).body;
    assert.equal(after.hal.online, false);
    assert.equal(typeof after.hal.lastSeen, 'number');
  });

  test('the HTTP API checks its bodies', async () => {
    assert.equal((await postJson(`${server.url}/api/users/online`, { users: [] })).status, 400);
    assert.equal((await postJson(`${server.url}/api/users/online`, { users: ['ok'], extra: 1 })).status, 400);
    assert.equal((await postJson(`${server.url}/api/users/bad%20id/messages`, { data: 1 })).status, 400);
    assert.equal((await postJson(`${server.url}/api/users/ok/messages`, { store: true })).status, 400);
    assert.deepEqual((await postJson(`${server.url}/api/users/ok/messages`, { data: 1 })).body, { user: 'ok', live: false, stored: false, online: false });
  });
});
