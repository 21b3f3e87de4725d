import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Broker } from '../src/broker/broker.ts';
import type { Publication } from '../src/channels/publication.ts';
import { engines } from './support/engines.ts';
import { waitFor } from './support/servers.ts';

// One suite, every engine's broker: what the rest of Herald relies on must hold for each.
const implementations: Array<[string, () => Broker]> = (await engines()).map((engine) => [engine.name, () => engine.make().broker]);

for (const [name, makeBroker] of implementations) {
  describe(`broker conformance: ${name}`, () => {
    const brokers: Broker[] = [];
    async function started(): Promise<{ broker: Broker; received: Publication[] }> {
      const broker = makeBroker();
      brokers.push(broker);
      const received: Publication[] = [];
      await broker.start((publication) => received.push(publication));
      return { broker, received };
    }
    after(() => Promise.all(brokers.map((broker) => broker.close())));

    test('a publication nobody subscribed to reaches no one', async () => {
      const { broker, received } = await started();
      assert.deepEqual(await broker.publish('empty', '"x"'), { reached: 0 });
      assert.equal(received.length, 0);
    });

    test('a subscribed channel receives each publication once, with its data and sender', async () => {
      const { broker, received } = await started();
      await broker.subscribe('news');
      const result = await broker.publish('news', '{"a":1}', { from: 'conn-1' });
      assert.equal(result.reached, 1);
      await waitFor(() => received.length === 1, 3000, 'delivery');
      assert.equal(received[0]!.channel, 'news');
      assert.equal(received[0]!.json, '{"a":1}');
      assert.equal(received[0]!.from, 'conn-1');
    });

    test('JSON strings and other JSON values stay apart', async () => {
      const { broker, received } = await started();
      await broker.subscribe('types');
      await broker.publish('types', '"42"');
      await broker.publish('types', '42');
      await waitFor(() => received.length === 2, 3000, 'deliveries');
      assert.deepEqual(received.map((p) => [p.json, p.text]), [['"42"', '42'], ['42', '42']]);
      assert.equal(received[0]!.data, '42');
      assert.equal(received[1]!.data, 42);
    });

    test('publications arrive in publish order', async () => {
      const { broker, received } = await started();
      await broker.subscribe('ordered');
      await Promise.all(Array.from({ length: 500 }, (_, i) => broker.publish('ordered', String(i))));
      await waitFor(() => received.length === 500, 5000, '500 deliveries');
      assert.deepEqual(received.map((p) => Number(p.json)), Array.from({ length: 500 }, (_, i) => i));
    });

    test('after unsubscribe nothing more arrives', async () => {
      const { broker, received } = await started();
      await broker.subscribe('gone');
      broker.unsubscribe('gone');
      // Wait until the broker itself reports that nobody is subscribed any more.
      await waitFor(async () => (await broker.publish('gone', '1')).reached === 0, 3000, 'unsubscribe');
      assert.equal(received.length, 0);
    });

    test('subscribe and unsubscribe in one tick settle without hanging', async () => {
      const { broker, received } = await started();
      const pending = broker.subscribe('flip');
      broker.unsubscribe('flip');
      await pending;
      const again = broker.subscribe('flop');
      broker.unsubscribe('flop');
      const back = broker.subscribe('flop');
      await Promise.all([again, back]);
      await broker.publish('flop', '"here"');
      await waitFor(() => received.length === 1, 3000, 'delivery on the re-subscribed channel');
      assert.equal(received[0]!.channel, 'flop');
      assert.equal((await broker.publish('flip', '1')).reached, 0);
    });

    test('health reports ready while connected', async () => {
      const { broker } = await started();
      assert.equal(broker.health().ready, true);
    });
  });
}
