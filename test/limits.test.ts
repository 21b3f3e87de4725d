import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { installDefaultApp } from '../src/app/default-app.ts';
import type { Herald } from '../src/herald.ts';
import { spawnHerald, startHerald, waitFor, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

const RATE_LIMITED = '{"type":"error","code":"HERALD_ERR_RATE_LIMITED","message":"Too many messages: this one was dropped"}';

/** The default app plus `/multi`, where each message is a channel to subscribe to. */
function installWithMulti(herald: Herald): void {
  installDefaultApp(herald);
  herald.socket('/multi', (socket) => {
    socket.onMessage(async (channel) => {
      await socket.subscribe(channel);
      socket.send(`subscribed ${channel}`);
    });
  });
}

describe('protective limits', () => {
  let server: RunningHerald;
  let bystander: TestClient;
  before(async () => {
    server = await startHerald(
      { maxFrameBytes: 1024, maxMessagesPerSecond: 20, maxSubscriptionsPerConnection: 3, maxConnectionsPerIp: 8, heartbeatMs: 200 },
      installWithMulti,
    );
    bystander = await TestClient.open(`${server.wsUrl}/ws/limits-news`);
    bystander.send('subscribed?');
    assert.equal(await bystander.next(), 'subscribed?');
  });
  after(async () => {
    // Connected through every refusal, across many heartbeats: still served.
    await server.herald.publish('limits-news', 'still here');
    assert.equal(await bystander.next(), 'still here');
    await bystander.close();
    await server.close();
  });

  test('a frame over maxFrameBytes closes with 1009', async () => {
    const client = await TestClient.open(`${server.wsUrl}/echo`);
    client.send('x'.repeat(1024));
    assert.equal(await client.next(), `Message text was: ${'x'.repeat(1024)}`);
    client.send('x'.repeat(1025));
    assert.equal((await client.closed).code, 1009);
    assert.equal(server.herald.stats().refusals['frame-too-big'], 1);
    assert.match(await (await fetch(`${server.url}/metrics`)).text(), /^herald_refusals_total\{kind="frame-too-big"\} 1$/m);
  });

  test('a text frame that is not valid UTF-8 closes with 1007', async () => {
    const client = await TestClient.open(`${server.wsUrl}/echo`);
    client.ws.send(Buffer.from([0x68, 0x69, 0xff, 0xfe]), { binary: false });
    assert.equal((await client.closed).code, 1007);
    assert.equal(server.herald.stats().refusals['invalid-utf8'], 1);
  });

  test('a binary frame closes with 1003', async () => {
    const client = await TestClient.open(`${server.wsUrl}/echo`);
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.deepEqual(await client.closed, { code: 1003, reason: 'Binary frames are not accepted' });
    assert.equal(server.herald.stats().refusals['binary-frame'], 1);
  });

  test('messages over the rate get an error reply each; twice the rate in a second closes with 1008', async () => {
    const client = await TestClient.open(`${server.wsUrl}/echo`);
    for (let i = 0; i < 30; i++) client.send(`m${i}`);
    const replies = await client.take(30);
    assert.deepEqual(replies.slice(0, 20), Array.from({ length: 20 }, (_, i) => `Message text was: m${i}`));
    assert.deepEqual(replies.slice(20), Array(10).fill(RATE_LIMITED));
    assert.equal(server.herald.stats().refusals['rate-limited'], 10);
    for (let i = 30; i < 50; i++) client.send(`m${i}`);
    assert.deepEqual(await client.take(10), Array(10).fill(RATE_LIMITED));
    assert.deepEqual(await client.closed, { code: 1008, reason: 'More than 40 messages in a second' });
    assert.equal(server.herald.stats().refusals['message-flood'], 1);
  });

  test('a rate-limited connection that slows down is served again in the next second', async () => {
    const client = await TestClient.open(`${server.wsUrl}/echo`);
    for (let i = 0; i < 21; i++) client.send(`m${i}`);
    assert.equal((await client.take(21))[20], RATE_LIMITED);
    // The limit is per second of wall time: this wait is the behaviour under test, not a sync.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    client.send('later');
    assert.equal(await client.next(), 'Message text was: later');
    await client.close();
  });

  test('subscriptions over maxSubscriptionsPerConnection are refused with an error frame; the socket stays', async () => {
    const client = await TestClient.open(`${server.wsUrl}/multi`);
    for (const channel of ['a', 'b', 'c']) {
      client.send(channel);
      assert.equal(await client.next(), `subscribed ${channel}`);
    }
    client.send('d');
    assert.deepEqual(await client.nextJson(), {
      type: 'error',
      code: 'HERALD_ERR_TOO_MANY_SUBSCRIPTIONS',
      message: 'At most 3 subscriptions per connection',
    });
    client.send('a'); // already subscribed: not a new subscription
    assert.equal(await client.next(), 'subscribed a');
    await server.herald.publish('c', 'on c');
    assert.equal(await client.next(), 'on c');
    assert.equal(server.herald.stats().refusals['too-many-subscriptions'], 1);
    await client.close();
  });

  test('connections over maxConnectionsPerIp are refused at the handshake with 429', async () => {
    const open = server.herald.stats().connections; // the bystander
    const clients: TestClient[] = [];
    for (let i = open; i < 8; i++) clients.push(await TestClient.open(`${server.wsUrl}/echo`));
    await assert.rejects(TestClient.open(`${server.wsUrl}/echo`), { statusCode: 429 });
    assert.equal(server.herald.stats().refusals['too-many-connections'], 1);
    await clients.pop()!.close();
    // The slot comes back when the TCP connection ends.
    let reopened: TestClient | undefined;
    await waitFor(async () => {
      reopened = await TestClient.open(`${server.wsUrl}/echo`).catch(() => undefined);
      return reopened !== undefined;
    }, 5000, 'a free connection slot');
    await Promise.all([...clients, reopened!].map((client) => client.close()));
  });

  test('a peer that answers no ping is dropped; peers that answer stay', async () => {
    const silent = await TestClient.open(`${server.wsUrl}/echo`, { autoPong: false });
    const answering = await TestClient.open(`${server.wsUrl}/echo`);
    assert.equal((await silent.closed).code, 1006);
    assert.ok((server.herald.stats().refusals['ping-timeout'] ?? 0) >= 1);
    answering.send('alive');
    assert.equal(await answering.next(), 'Message text was: alive');
    await answering.close();
  });
});

describe('refusal logging', () => {
  test('each refusal is logged with its kind (and never with the offending payload)', async () => {
    const server = await spawnHerald({
      HERALD_MAX_FRAME_BYTES: '1024',
      HERALD_MAX_MESSAGES_PER_SECOND: '5',
      HERALD_MAX_CONNECTIONS_PER_IP: '3',
      HERALD_ALLOWED_ORIGINS: 'https://app.example.com',
      HERALD_JWT_SECRET: 'a-secret-for-the-logging-test-that-is-long',
      HERALD_ALLOW_ANONYMOUS: 'true',
    });
    try {
      const big = await TestClient.open(`${server.wsUrl}/echo`);
      big.send('y'.repeat(2000));
      await big.closed;
      const utf8 = await TestClient.open(`${server.wsUrl}/echo`);
      utf8.ws.send(Buffer.from([0xff]), { binary: false });
      await utf8.closed;
      const flood = await TestClient.open(`${server.wsUrl}/echo`);
      for (let i = 0; i < 12; i++) flood.send('z');
      await flood.closed;
      await assert.rejects(TestClient.open(`${server.wsUrl}/echo`, { headers: { Origin: 'https://evil.example' } }), { statusCode: 403 });
      const badToken = await TestClient.open(`${server.wsUrl}/echo?token=nonsense`);
      await badToken.closed;
      const held = await Promise.all([1, 2, 3].map(() => TestClient.open(`${server.wsUrl}/echo`)));
      await assert.rejects(TestClient.open(`${server.wsUrl}/echo`), { statusCode: 429 });
      await Promise.all(held.map((client) => client.close()));
      const kinds = ['frame-too-big', 'invalid-utf8', 'rate-limited', 'message-flood', 'origin-refused', 'auth-refused', 'too-many-connections'];
      await waitFor(() => kinds.every((kind) => server.output().includes(`"refusal":"${kind}"`)), 5000, `log lines for ${kinds.join(', ')}`);
      // Five rate-limited messages, one log line: a flood cannot flood the log.
      assert.equal(server.output().split('"refusal":"rate-limited"').length - 1, 1);
      assert.ok(!server.output().includes('yyyyyyyy'));

      // A burst of refusals logs at most 20 lines a second per kind; a later line sums up the rest.
      const evil = { headers: { Origin: 'https://evil.example' } };
      await Promise.all(Array.from({ length: 60 }, () => assert.rejects(TestClient.open(`${server.wsUrl}/echo`, evil), { statusCode: 403 })));
      await new Promise((resolve) => setTimeout(resolve, 1100)); // let the one-second log window pass
      await assert.rejects(TestClient.open(`${server.wsUrl}/echo`, evil), { statusCode: 403 });
      const tally = () => {
        const lines = server.output().split('\n').filter((line) => line.includes('"refusal":"origin-refused"'));
        const detailed = lines.filter((line) => !line.includes('"suppressed":')).length;
        const suppressed = lines.reduce((sum, line) => sum + Number(/"suppressed":(\d+)/.exec(line)?.[1] ?? 0), 0);
        return { detailed, suppressed };
      };
      // Every refusal is logged or summed up, and fewer than all of them in lines of their own.
      await waitFor(() => tally().detailed + tally().suppressed === 62, 5000, `62 refusals accounted for in the log: ${JSON.stringify(tally())}`);
      assert.ok(tally().suppressed > 0, JSON.stringify(tally()));
    } finally {
      await server.stop();
    }
  });
});
