import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type RunningHerald } from './support/servers.ts';
import { asUser, installProtocolTestApp, protocolTestOptions } from './support/protocol-app.ts';
import { ProtocolClient } from './support/protocol-client.ts';

// JSON.parse accepts any depth but JSON.stringify overflows the stack on it: every field of every
// op that the server encodes again must be refused with a typed reply, never a 1011 close.
describe('/connect: deeply nested JSON in any field', () => {
  const DEPTH = 30_000;
  const deep = '['.repeat(DEPTH) + ']'.repeat(DEPTH);
  let server: RunningHerald;
  before(async () => {
    server = await startHerald({ ...protocolTestOptions, maxFrameBytes: 256 * 1024 }, installProtocolTestApp);
  });
  after(() => server.close());

  test('each op answers a BAD_REQUEST reply with its id, and the socket stays open and usable', async () => {
    const client = await ProtocolClient.open(`${server.wsUrl}/connect${await asUser('alice')}`);
    const closed: number[] = [];
    client.socket.ws.on('close', (code: number) => closed.push(code));
    const cases: Array<[string, string]> = [
      [`{"id":1,"op":"subscribe","channel":"room:deep","info":${deep}}`, '"info" cannot be encoded as JSON (nested too deeply?)'],
      [`{"id":2,"op":"task","name":"example","args":${deep}}`, '"args" cannot be encoded as JSON (nested too deeply?)'],
      [`{"id":3,"op":"publish","channel":"deep","data":${deep}}`, 'Published data cannot be encoded as JSON (nested too deeply?)'],
      [`{"id":4,"op":"send","user":"bob","data":${deep}}`, 'Published data cannot be encoded as JSON (nested too deeply?)'],
      [`{"id":5,"op":${deep}}`, 'Unknown op an array: use subscribe, unsubscribe, publish, send, online, watch, unwatch, ack, presence, history, refresh, task, taskStatus or ping'],
      [`{"id":6,"op":"subscribe","channel":${deep}}`, 'Invalid channel name an array: use 1-200 letters, digits or _ - . : @ = + , ~ /'],
      [`{"id":7,"op":"history","channel":"deep","since":${deep}}`, '"since" must be {"offset": <integer >= 0>, "epoch": <string>}'],
      [`{"id":8,"op":"refresh","token":${deep}}`, '"token" must be a non-empty string'],
      [`{"id":9,"op":"presence","channel":"room:deep","extra":${deep}}`, ''],
    ];
    for (const [text, message] of cases) {
      const reply = await client.raw(text, 20_000);
      const id = Number(/^\{"id":(\d+)/.exec(text)![1]);
      if (message === '') {
        // An unknown member is ignored: the op itself is answered.
        assert.deepEqual(reply, { type: 'reply', id, result: { channel: 'room:deep', clients: [] } });
        continue;
      }
      const code = message.startsWith('Unknown op') ? 'HERALD_ERR_UNKNOWN_OP' : 'HERALD_ERR_BAD_REQUEST';
      assert.deepEqual(reply, { type: 'reply', id, error: { code, message } }, text.slice(0, 60));
    }
    // An id nested too deeply cannot be answered by id.
    assert.deepEqual(await client.raw(`{"id":${deep},"op":"ping"}`, 20_000), {
      type: 'reply',
      error: { code: 'HERALD_ERR_BAD_REQUEST', message: '"id" must be an integer or a string of at most 64 characters' },
    });
    assert.deepEqual(await client.request({ op: 'ping' }), { type: 'reply', id: 1, result: {} });
    const subscribed = await client.request({ op: 'subscribe', channel: 'room:deep', info: { ok: true } });
    assert.equal(subscribed.error, undefined);
    assert.equal(subscribed.result.channel, 'room:deep');
    assert.deepEqual(closed, []);
    await client.close();
  });
});
