import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { postJson, startHerald, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

// The seed scenarios on one process with the embedded broker; seed-routes-cluster.test.ts runs
// the same scenarios across processes through Redis.
describe('seed routes (memory broker)', () => {
  let server: RunningHerald;
  before(async () => {
    server = await startHerald();
  });
  after(() => server.close());

  test('000: /ws/{channel} publishes each frame to the channel and delivers it to every subscriber', async () => {
    const a = await TestClient.open(`${server.wsUrl}/ws/news`);
    const b = await TestClient.open(`${server.wsUrl}/ws/news`);
    const other = await TestClient.open(`${server.wsUrl}/ws/sports`);
    a.send('hello');
    assert.equal(await a.next(), 'hello');
    assert.equal(await b.next(), 'hello');
    assert.equal(await other.silentFor(200), true);
    await Promise.all([a.close(), b.close(), other.close()]);
  });

  test('000: HTTP publish reaches /ws/{channel}: strings as text, other JSON serialized', async () => {
    const client = await TestClient.open(`${server.wsUrl}/ws/ws_example_channel`);
    // The default app's clock also publishes here every 5 s (clock-cluster.test.ts): skip its frames.
    const next = async (): Promise<string> => {
      for (;;) {
        const text = await client.next();
        if (!text.startsWith('当前时间: ')) return text;
      }
    };
    assert.deepEqual((await postJson(`${server.url}/api/publish`, { channel: 'ws_example_channel', data: 'plain' })).body, { ok: true });
    assert.equal(await next(), 'plain');
    await postJson(`${server.url}/api/publish`, { channel: 'ws_example_channel', data: { n: 1, s: 'x' } });
    assert.equal(await next(), '{"n":1,"s":"x"}');
    await postJson(`${server.url}/api/publish`, { channel: 'ws_example_channel', data: 42 });
    assert.equal(await next(), '42');
    await client.close();
  });

  test('000: /ws/{user_id} delivers a user_event envelope to every socket of that user only', async () => {
    const a1 = await TestClient.open(`${server.wsUrl}/ws/42`);
    const a2 = await TestClient.open(`${server.wsUrl}/ws/42`);
    const b = await TestClient.open(`${server.wsUrl}/ws/43`);
    a1.send('ping from 42');
    const expected = '{"type":"user_event","data":"ping from 42"}';
    assert.equal(await a1.next(), expected);
    assert.equal(await a2.next(), expected);
    assert.equal(await b.silentFor(200), true);
    await postJson(`${server.url}/api/publish`, { channel: 'user:43', data: { unread: 3 } });
    assert.equal(await b.next(), '{"type":"user_event","data":{"unread":3}}');
    await Promise.all([a1.close(), a2.close(), b.close()]);
  });

  test('001: /connect_chat welcomes, routes private messages, reports offline recipients and bad frames', async () => {
    const x = await TestClient.open(`${server.wsUrl}/connect_chat?user_code=X`);
    assert.deepEqual(await x.nextJson(), { type: 'system', msg: 'Welcome to the chat app!', sender: 'system', recipient: 'X' });
    const y1 = await TestClient.open(`${server.wsUrl}/connect_chat?user_code=Y`);
    const y2 = await TestClient.open(`${server.wsUrl}/connect_chat?user_code=Y`);
    await y1.next();
    await y2.next();
    x.send({ type: 'private_message', recipient: 'Y', msg: 'hi' });
    const expected = { type: 'private_message', sender: 'X', msg: 'hi', recipient: 'Y' };
    assert.deepEqual(await y1.nextJson(), expected);
    assert.deepEqual(await y2.nextJson(), expected);
    assert.equal(await x.silentFor(150), true);

    x.send({ type: 'private_message', recipient: 'nobody', msg: 'hello?' });
    const notice = (await x.nextJson()) as Record<string, unknown>;
    assert.equal(notice.type, 'system');
    assert.equal(notice.recipient, 'X');
    assert.match(String(notice.msg), /nobody is not online/);

    for (const bad of ['not json', '[1,2]', '{"type":"private_message","recipient":5,"msg":"x"}', '{"type":"other"}']) {
      x.send(bad);
      const reply = (await x.nextJson()) as Record<string, unknown>;
      assert.equal(reply.type, 'error', bad);
    }
    // Still usable after bad frames.
    x.send({ type: 'private_message', recipient: 'Y', msg: 'still here' });
    assert.deepEqual(await y1.nextJson(), { ...expected, msg: 'still here' });
    await Promise.all([x.close(), y1.close(), y2.close()]);
  });

  test('001: /connect_chat without user_code is closed with 1008', async () => {
    const client = await TestClient.open(`${server.wsUrl}/connect_chat`);
    assert.deepEqual(await client.closed, { code: 1008, reason: 'user_code is required (letters, digits, _ - . @)' });
  });

  test('001: POST /create_chat answers the seed reply and delivers the private message', async () => {
    const y = await TestClient.open(`${server.wsUrl}/connect_chat?user_code=Zed`);
    await y.next();
    const reply = await postJson(`${server.url}/create_chat`, { sender: 'backend', recipient: 'Zed', msg: 'from http' });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, { code: 200, msg: '成功', data: '' });
    assert.deepEqual(await y.nextJson(), { type: 'private_message', sender: 'backend', msg: 'from http', recipient: 'Zed' });
    const bad = await postJson(`${server.url}/create_chat`, { sender: 'backend' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.ok, false);
    assert.equal(bad.body.error.code, 'HERALD_ERR_BAD_REQUEST');
    await y.close();
  });

  test('002: /echo replies "Message text was: <text>"', async () => {
    const client = await TestClient.open(`${server.wsUrl}/echo`);
    client.send('hello');
    client.send('again');
    assert.deepEqual(await client.take(2), ['Message text was: hello', 'Message text was: again']);
    await client.close();
  });

  test('002: /chat sends {username, message} to every other chatter, not to the sender', async () => {
    const alice = await TestClient.open(`${server.wsUrl}/chat?username=alice`);
    const bob = await TestClient.open(`${server.wsUrl}/chat?username=bob`);
    const carol = await TestClient.open(`${server.wsUrl}/chat?username=carol`);
    alice.send('hi all');
    assert.deepEqual(await bob.nextJson(), { username: 'alice', message: 'hi all' });
    assert.deepEqual(await carol.nextJson(), { username: 'alice', message: 'hi all' });
    assert.equal(await alice.silentFor(200), true);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });

  test('003: /broadcast/{id} says "Client #id says" to everyone and announces disconnects', async () => {
    const one = await TestClient.open(`${server.wsUrl}/broadcast/1`);
    const two = await TestClient.open(`${server.wsUrl}/broadcast/2`);
    one.send('hello');
    assert.equal(await one.next(), 'Client #1 says: hello');
    assert.equal(await two.next(), 'Client #1 says: hello');
    await one.close();
    assert.equal(await two.next(), 'Client #1 disconnected');
    await two.close();
  });

  test('003: /ws/chat/ relays {"message"} to the whole group, sender included', async () => {
    const a = await TestClient.open(`${server.wsUrl}/ws/chat/`);
    const b = await TestClient.open(`${server.wsUrl}/ws/chat/`);
    a.send({ message: 'group hello' });
    assert.deepEqual(await a.nextJson(), { message: 'group hello' });
    assert.deepEqual(await b.nextJson(), { message: 'group hello' });
    a.send('oops');
    assert.deepEqual(await a.nextJson(), { type: 'error', message: 'Expected {"message": ...}' });
    await Promise.all([a.close(), b.close()]);
  });

  test('an unknown socket path is refused with 404', async () => {
    await assert.rejects(TestClient.open(`${server.wsUrl}/nowhere`), { statusCode: 404 });
  });
});
