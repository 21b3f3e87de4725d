import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryBroker } from '../src/broker/memory-broker.ts';
import { MEMORY_HISTORY_MAX_BYTES } from '../src/history/memory-history.ts';
import { startHerald, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

// The embedded broker keeps each channel's publications as UTF-8 in one Buffer that it compacts and
// reallocates as entries come and go: whatever the mix of sizes and scripts, a read must return
// exactly the JSON that was appended, with the right offsets, within the size and byte caps.
describe('memory history entries', () => {
  test('2,000 appends of mixed sizes and scripts read back exactly, whole and since an offset', async () => {
    const broker = new MemoryBroker();
    const history = broker.history;
    const options = { size: 7, ttlSeconds: 300 };
    const samples = [
      '"plain"',
      JSON.stringify('中文消息，带标点'),
      JSON.stringify('emoji 😀 and é'),
      '{"a":[1,2,3],"b":"\\u0000\\"q\\""}',
      '""',
      '0',
      JSON.stringify('x'.repeat(5000)),
      // 600 KB as UTF-8: two of these pass the per-channel byte cap.
      JSON.stringify('é'.repeat(300_000)),
    ];
    const kept: Array<{ offset: number; json: string }> = [];
    let epoch = '';
    try {
      for (let i = 0; i < 2000; i++) {
        // Big entries rarely, so that the Buffer grows, shrinks and is compacted many times.
        const pick = i % 97 === 0 ? 7 : i % 13 === 0 ? 6 : (i * 7919) % 6;
        const json = pick === 0 ? `{"i":${i}}` : samples[pick]!;
        const { position, duplicate } = history.append('mixed', json, options, undefined);
        assert.equal(duplicate, false);
        assert.equal(position!.offset, i + 1);
        epoch = position!.epoch;
        kept.push({ offset: i + 1, json });
        while (kept.length > options.size) kept.shift();
        let bytes = kept.reduce((sum, entry) => sum + Buffer.byteLength(entry.json), 0);
        while (bytes > MEMORY_HISTORY_MAX_BYTES && kept.length > 1) bytes -= Buffer.byteLength(kept.shift()!.json);
        if (i % 11 === 0 || pick === 7) {
          const page = await history.read('mixed');
          assert.deepEqual(page.position, { offset: i + 1, epoch });
          assert.deepEqual(page.publications, kept, `whole read after append ${i + 1}`);
          const since = Math.max(0, i - 2);
          const tail = await history.read('mixed', { since: { offset: since, epoch }, limit: 2 });
          assert.deepEqual(tail.publications, kept.filter((entry) => entry.offset > since).slice(0, 2), `since ${since} after append ${i + 1}`);
        }
      }
    } finally {
      await broker.close();
    }
  });

  describe('through a server', () => {
    let server: RunningHerald;
    before(async () => {
      server = await startHerald({ maxMessagesPerSecond: 0 });
    });
    after(() => server.close());

    // A socket's text is put in JSON quotes without JSON.stringify when nothing in it needs escaping:
    // every character class that does must still come out as JSON.stringify writes it.
    test('text frames with characters JSON escapes are kept as JSON.stringify writes them and relayed unchanged', async () => {
      const texts = ['plain', 'a "quoted" word', 'back\\slash', 'tab\tand\nnewline', 'ctl\u0001', 'pair 😀', 'line\u2028separator', '中文', ''];
      const client = await TestClient.open(`${server.wsUrl}/ws/escapes`);
      try {
        for (const text of texts) {
          client.send(text);
          assert.equal(await client.next(), text);
        }
        const page = await server.herald.broker.history.read('escapes');
        assert.deepEqual(
          page.publications.map((entry) => entry.json),
          texts.map((text) => JSON.stringify(text)),
        );
      } finally {
        client.ws.close();
      }
      // A lone surrogate cannot travel in a text frame (it is not UTF-8), but server code may publish one.
      await server.herald.publish('escapes-lone', 'lone \ud800 surrogate');
      assert.deepEqual((await server.herald.broker.history.read('escapes-lone')).publications.map((entry) => entry.json), ['"lone \\ud800 surrogate"']);
    });
  });
});
