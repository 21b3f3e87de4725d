import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { installDefaultApp } from '../src/app/default-app.ts';
import type { Herald } from '../src/herald.ts';
import { deleteKeys, REDIS_URL, redisClient, startHerald, uniquePrefix, waitFor, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

// A /ws/<channel> frame's text reaches every raw socket of the channel byte for byte, whatever it
// holds: the publish path hands raw sockets the text as it came (embedded broker) or decodes its
// JSON string without a full parse when it has no escapes (Redis), and both must agree with what
// a JSON round trip would give.
const TEXTS = [
  'plain',
  '',
  'with "quotes" inside',
  'back\\slash and \\n not a newline',
  '{"type":"chat","text":"a JSON object as text"}',
  '"a JSON string literal as text"',
  'tab\there, newline\nthere',
  'ünïcödé 😀 中文',
  '42',
  'null',
];

for (const broker of ['memory', 'redis'] as const) {
  describe(`/ws frame text passes through unchanged (${broker} broker)`, () => {
    let server: RunningHerald;
    const prefix = uniquePrefix();
    before(async () => {
      server = await startHerald(broker === 'redis' ? { redisUrl: REDIS_URL, redisPrefix: prefix } : {}, (herald: Herald) => {
        installDefaultApp(herald);
        herald.namespace('live', { history: false });
      });
    });
    after(async () => {
      await server.close();
      if (broker === 'redis') await deleteKeys(prefix);
    });

    test('every text arrives exactly as sent, in order, at the sender and at another socket', async () => {
      const channel = `passthrough-${broker}`;
      const sender = await TestClient.open(`${server.wsUrl}/ws/${channel}`);
      const other = await TestClient.open(`${server.wsUrl}/ws/${channel}`);
      for (const text of TEXTS) sender.send(text);
      assert.deepEqual(await sender.take(TEXTS.length), TEXTS);
      assert.deepEqual(await other.take(TEXTS.length), TEXTS);
      assert.equal(await other.silentFor(200), true);
      await Promise.all([sender.close(), other.close()]);
    });

    test('a text published over HTTP as a JSON string arrives as its text; other JSON as JSON', async () => {
      const channel = `passthrough-http-${broker}`;
      const client = await TestClient.open(`${server.wsUrl}/ws/${channel}`);
      const publish = async (data: unknown): Promise<void> => {
        const response = await fetch(`${server.url}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel, data }) });
        assert.equal(response.status, 200);
      };
      for (const text of TEXTS) await publish(text);
      await publish({ nested: 'va"lue' });
      assert.deepEqual(await client.take(TEXTS.length + 1), [...TEXTS, '{"nested":"va\\"lue"}']);
      await client.close();
    });

    test('in a namespace without history too (a bare PUBLISH with Redis)', async () => {
      const sender = await TestClient.open(`${server.wsUrl}/ws/live:${broker}`);
      const other = await TestClient.open(`${server.wsUrl}/ws/live:${broker}`);
      for (const text of TEXTS) sender.send(text);
      assert.deepEqual(await sender.take(TEXTS.length), TEXTS);
      assert.deepEqual(await other.take(TEXTS.length), TEXTS);
      await Promise.all([sender.close(), other.close()]);
    });

    if (broker === 'redis') {
      test('what another program reads on Redis: the marker, the sender\'s connection id, the data as JSON', async () => {
        const listener = redisClient();
        const messages: string[] = [];
        listener.on('message', (_channel: string, message: string) => messages.push(message));
        await listener.subscribe(`${prefix}live:wire`);
        const sender = await TestClient.open(`${server.wsUrl}/ws/live:wire`);
        sender.send('with "quotes"');
        assert.equal(await sender.next(), 'with "quotes"');
        await waitFor(() => messages.length === 1, 5000, 'the message on Redis');
        assert.match(messages[0]!, /^herald1 \{"from":"[A-Za-z0-9_-]+\.[0-9a-z]+"\}\n"with \\"quotes\\""$/);
        await sender.close();
        listener.disconnect();
      });
    }
  });
}

