import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Herald } from '../client/node.ts';
import { verifySignature } from '../src/webhooks/signer.ts';
import { asUser } from './support/protocol-app.ts';
import { hs256Token, TEST_SECRET } from './support/tokens.ts';
import { TestClient } from './support/ws-client.ts';
import { postJson, startHerald, type RunningHerald } from './support/servers.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

const SECRET = 'whsec-test-0123456789abcdef';

// One process, the embedded broker, a real HTTP receiver: what each event carries, the signature,
// retries while the receiver is down, the offline debounce, and the dead letters.
describe('webhooks (one process)', () => {
  let receiver: WebhookReceiver;
  let failing: WebhookReceiver;
  let server: RunningHerald;
  const clients: Herald[] = [];
  const client = (user: string): Herald => {
    const herald = new Herald(`${server.wsUrl}/connect`, { token: () => hs256Token(user), minReconnectDelayMs: 50 });
    clients.push(herald);
    return herald;
  };

  before(async () => {
    receiver = await WebhookReceiver.start();
    failing = await WebhookReceiver.start();
    failing.status = 500;
    server = await startHerald(
      {
        jwtSecret: TEST_SECRET,
        webhookOfflineDelayMs: 1500,
        webhookRetryForMs: 2500,
        webhooks: [
          { url: receiver.url, secret: SECRET, events: ['*'] },
          { url: failing.url, secret: SECRET, events: ['message.stored'] },
        ],
      },
      (herald) => {
        herald.task('double', async ({ n }: { n: number }) => n * 2);
        herald.task('explode', async () => {
          throw new Error('boom');
        });
      },
    );
  });
  after(async () => {
    for (const herald of clients) herald.close();
    await server.close();
    await receiver.close();
    await failing.close();
  });

  test('every request is signed over timestamp and body; a tampered body or another secret fails', async () => {
    const sent = await server.herald.webhooks.emit('order.paid', { order: 42 });
    await receiver.until((r) => r.events('order.paid').length === 1);
    const [request] = receiver.received.filter((entry) => entry.event.type === 'order.paid');
    assert.deepEqual(request!.event, sent);
    assert.equal(request!.headers['content-type'], 'application/json');
    assert.equal(request!.headers['herald-event-id'], sent!.id);
    assert.equal(request!.headers['herald-event-type'], 'order.paid');
    const signature = request!.headers['herald-signature'] as string;
    assert.match(signature, /^t=\d{13},v1=[0-9a-f]{64}$/);
    assert.equal(verifySignature(SECRET, signature, request!.body), true);
    assert.equal(verifySignature(SECRET, signature, request!.body.replace('42', '43')), false);
    assert.equal(verifySignature('another-secret-0123456789', signature, request!.body), false);
    const timestamp = Number(/t=(\d+)/.exec(signature)![1]);
    assert.equal(verifySignature(SECRET, signature.replace(`t=${timestamp}`, `t=${timestamp + 1}`), request!.body), false, 'the timestamp is signed too');
    assert.equal(verifySignature(SECRET, signature, request!.body, 60_000, timestamp + 120_000), false, 'an old signature is refused');
  });

  test('a user whose only connection drops and returns within the debounce produces no webhook; away longer, exactly one user.offline', async () => {
    const first = await TestClient.open(`${server.wsUrl}/connect${await asUser('ada')}`);
    await receiver.until((r) => r.events('user.online', (data) => data.user === 'ada').length === 1, 10_000, 'user.online');
    assert.deepEqual(receiver.events('user.online', (data) => data.user === 'ada')[0]!.data, { user: 'ada' });
    // The only connection drops and a new one opens at once (a network blip).
    first.ws.terminate();
    await first.closed;
    const second = await TestClient.open(`${server.wsUrl}/connect${await asUser('ada')}`);
    second.ws.close();
    await second.closed;
    const left = Date.now();
    await receiver.until((r) => r.events('user.offline', (data) => data.user === 'ada').length === 1, 10_000, 'user.offline');
    assert.ok(Date.now() - left >= 1400, 'not before the debounce');
    const forAda = receiver.events(undefined, (data) => data?.user === 'ada').map((event) => event.type);
    assert.deepEqual(forAda, ['user.online', 'user.offline']);
    const offline = receiver.events('user.offline', (data) => data.user === 'ada')[0]!;
    assert.deepEqual(Object.keys(offline.data).sort(), ['lastSeen', 'user']);
    assert.ok(offline.data.lastSeen >= left - 100 && offline.data.lastSeen <= left + 1000);
  });

  test('message.stored for a stored message that reached nobody; a failing endpoint ends in the dead letters', async () => {
    const reply = await postJson(`${server.url}/api/users/zoe/messages`, { data: { text: 'hello' }, from: 'ada', store: true });
    assert.equal(reply.status, 200);
    assert.deepEqual(Object.keys(reply.body).sort(), ['inbox', 'live', 'online', 'stored', 'user']);
    assert.equal(reply.body.live, false);
    assert.equal(reply.body.stored, true);
    await receiver.until((r) => r.events('message.stored').length === 1);
    const stored = receiver.events('message.stored')[0]!;
    assert.deepEqual(stored.data, { user: 'zoe', from: 'ada', inbox: reply.body.inbox, sentAt: Number(reply.body.inbox.split('-')[0]), data: { text: 'hello' } });
    // The failing endpoint: attempts at 0 and 1 s; the next (2 s later) would pass the 2.5 s window.
    let letters: any[] = [];
    const deadline = Date.now() + 10_000;
    while (letters.length === 0 && Date.now() < deadline) {
      letters = (await (await fetch(`${server.url}/api/webhooks/dead-letters`)).json()).deadLetters;
      if (letters.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(letters.length, 1);
    assert.deepEqual({ ...letters[0], failedAt: 0 }, { url: failing.url, event: stored, attempts: 2, lastError: 'HTTP 500', failedAt: 0 });
    const bad = await fetch(`${server.url}/api/webhooks/dead-letters?limit=0`);
    assert.equal(bad.status, 400);
  });

  test('task.completed and task.failed carry the task id and its result or reason', async () => {
    const { id: doubled } = await server.herald.tasks.start('double', { n: 21 });
    const { id: exploded } = await server.herald.tasks.start('explode', null);
    await receiver.until((r) => r.events('task.completed').length === 1 && r.events('task.failed').length === 1);
    assert.deepEqual(receiver.events('task.completed')[0]!.data, { task: doubled, result: 42 });
    assert.deepEqual(receiver.events('task.failed')[0]!.data, { task: exploded, reason: 'boom' });
    // Herald's own tasks (the deliveries themselves) are not reported.
    assert.equal(receiver.events('task.completed').length, 1);
  });

  test('channel.occupied at the first subscriber, channel.vacated after the last', async () => {
    const one = client('sub-one');
    const two = client('sub-two');
    one.connect();
    two.connect();
    await one.subscribe('news:sports', () => {}).ready;
    await receiver.until((r) => r.events('channel.occupied', (data) => data.channel === 'news:sports').length === 1);
    await two.subscribe('news:sports', () => {}).ready;
    one.subscription('news:sports')!.unsubscribe();
    two.subscription('news:sports')!.unsubscribe();
    await receiver.until((r) => r.events('channel.vacated', (data) => data.channel === 'news:sports').length === 1);
    assert.deepEqual(receiver.events(undefined, (data) => data?.channel === 'news:sports').map((event) => [event.type, event.data]), [
      ['channel.occupied', { channel: 'news:sports' }],
      ['channel.vacated', { channel: 'news:sports' }],
    ]);
  });

  test('a receiver that is down for 10 s gets every event afterwards, once each', async () => {
    // The default retry time (an hour): the outage is well within it.
    const outage = await WebhookReceiver.start();
    const own = await startHerald({ webhooks: [{ url: outage.url, secret: SECRET, events: ['*'] }] }, () => {});
    try {
      await outage.down();
      const emitted: string[] = [];
      for (let n = 0; n < 5; n++) emitted.push((await own.herald.webhooks.emit('outage.test', { n }))!.id);
      await new Promise((resolve) => setTimeout(resolve, 10_000)); // the outage itself, not a synchronisation
      await outage.up();
      // Retries 1, 2, 4 and 8 s after the first attempt: the fifth, at 15 s, finds the receiver back.
      await outage.until((r) => r.events('outage.test').length === 5, 30_000, 'the events sent during the outage');
      assert.deepEqual(outage.events('outage.test').map((event) => event.id).sort(), [...emitted].sort());
      assert.deepEqual((await (await fetch(`${own.url}/api/webhooks/dead-letters`)).json()), { deadLetters: [] });
    } finally {
      await own.close();
      await outage.close();
    }
  });
});
