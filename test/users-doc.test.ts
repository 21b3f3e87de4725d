import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Herald, HeraldClientError, type PrivateMessage, type UserStatusChange } from '../client/node.ts';
import { optionsFromEnv } from '../src/config.ts';
import { startHerald, type RunningHerald } from './support/servers.ts';
import { hs256Token, TEST_SECRET } from './support/tokens.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const DOC = await readFile(new URL('../docs/users.md', import.meta.url), 'utf8');

/** The `<!-- example: name -->` blocks of docs/users.md, by name. */
const examples = new Map<string, string>();
for (const match of DOC.matchAll(/<!-- example: ([a-z.-]+) -->\n```[a-z]*\n([\s\S]*?)```/g)) examples.set(match[1]!, match[2]!);
const example = (name: string): string => {
  const text = examples.get(name);
  assert.ok(text !== undefined, `docs/users.md has the example "${name}"`);
  ran.add(name);
  return text;
};
const ran = new Set<string>();

/** `NAME='value'` of a shell example. */
const assigned = (block: string, name: string): string => {
  const match = new RegExp(`^${name}='(.*)'$`, 'm').exec(block);
  assert.ok(match !== null, `the example sets ${name}`);
  return match[1]!;
};

/** A value's structure: keys (sorted) and value types, recursively; arrays by their first element. */
function shape(value: unknown): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return [value.length === 0 ? 'empty' : shape(value[0])];
  if (typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((key) => [key, shape((value as Record<string, unknown>)[key])]));
  return typeof value;
}

// Every example of docs/users.md, run against a live server configured by the document's own
// settings: the commands' output and every event's JSON must match what the server really does.
describe('docs/users.md examples, against a live server', () => {
  let receiver: WebhookReceiver;
  let failing: WebhookReceiver;
  let server: RunningHerald;
  let dir: string;
  const clients: Herald[] = [];
  const curl = async (name: string): Promise<unknown> => {
    const command = example(name).trim().replaceAll('127.0.0.1:8000', new URL(server.url).host);
    const { stdout } = await run('bash', ['-c', command]);
    return JSON.parse(stdout);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-users-doc-'));
    receiver = await WebhookReceiver.start();
    failing = await WebhookReceiver.start();
    failing.status = 500;
    const configured = optionsFromEnv({ HERALD_WEBHOOKS: assigned(example('webhooks-config'), 'HERALD_WEBHOOKS') });
    assert.equal(configured.webhooks!.length, 1);
    const endpoint = { ...configured.webhooks![0]!, url: receiver.url, events: ['*'] };
    server = await startHerald(
      {
        jwtSecret: TEST_SECRET,
        webhookOfflineDelayMs: 300,
        webhookRetryForMs: 2500,
        webhooks: [endpoint, { url: failing.url, secret: endpoint.secret, events: ['message.stored'] }],
      },
      (herald) => {
        herald.task('report', async () => ({ total: 42 }));
        herald.task('explode', async () => {
          throw new Error('boom');
        });
      },
    );
  });
  after(async () => {
    for (const client of clients) client.close();
    await server.close();
    await receiver.close();
    await failing.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('every code block of the document is a named example', () => {
    const blocks = [...DOC.matchAll(/```/g)].length / 2;
    assert.equal(examples.size, blocks, 'each ``` block is preceded by <!-- example: name -->');
  });

  test('online status over HTTP and the SDK; a stored message over HTTP; its events', async () => {
    const alice = new Herald(`${server.wsUrl}/connect`, { token: () => hs256Token('alice') }).connect();
    clients.push(alice);
    await new Promise((resolve) => alice.on('connected', resolve));
    assert.deepEqual(await curl('online-curl'), JSON.parse(example('online-curl-output')));

    const stored = (await curl('message-curl')) as { inbox: string };
    const documented = JSON.parse(example('message-curl-output'));
    assert.match(stored.inbox, /^\d+-\d+$/);
    assert.deepEqual(stored, { ...documented, inbox: stored.inbox });

    // The SDK example, as written, as user carol (its helpers are the page's own functions).
    const shown: Array<[string | null, unknown, { arrivedWhileAway: boolean }]> = [];
    const contactsMarked: Array<[string, boolean, number | null]> = [];
    const body = example('sdk').replaceAll('ws://127.0.0.1:8000', server.wsUrl);
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<any>;
    const result = await new AsyncFunction('Herald', 'fetchToken', 'markContact', 'show', `${body}\nreturn { herald, contacts, statuses, sent };`)(
      Herald,
      (user: string) => hs256Token(user),
      (user: string, online: boolean, lastSeen: number | null) => contactsMarked.push([user, online, lastSeen]),
      async (from: string | null, data: unknown, options: { arrivedWhileAway: boolean }) => shown.push([from, data, options]),
    );
    clients.push(result.herald);
    assert.deepEqual(result.contacts, { alice: { online: true, lastSeen: null }, bob: { online: false, lastSeen: null } });
    assert.deepEqual(result.statuses, { alice: { online: true, lastSeen: null }, bob: { online: false, lastSeen: null }, dave: { online: false, lastSeen: null } });
    assert.deepEqual({ ...result.sent, inbox: '…' }, { user: 'bob', live: false, stored: true, inbox: '…', online: false });
    // Alice leaves: carol's page is told; a message to carol while she is connected is shown live.
    alice.close();
    const offline = await new Promise<UserStatusChange>((resolve) => result.herald.on('status', resolve));
    assert.equal(offline.user, 'alice');
    assert.deepEqual(contactsMarked, [['alice', false, offline.lastSeen]]);
    await server.herald.messages.send('alice', 'carol', { text: 'hello' }, { store: true });
    await new Promise<PrivateMessage>((resolve) => result.herald.on('message', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(shown, [['alice', { text: 'hello' }, { arrivedWhileAway: false }]]);

    // Every event of the document, really emitted, has the documented JSON shape.
    await result.herald.subscribe('room:lobby', () => {}).ready;
    result.herald.subscription('room:lobby')!.unsubscribe();
    await server.herald.tasks.start('report', null);
    await server.herald.tasks.start('explode', null);
    const types = ['user.online', 'user.offline', 'channel.occupied', 'channel.vacated', 'message.stored', 'task.completed', 'task.failed'];
    await receiver.until((r) => types.every((type) => r.events(type).length > 0), 10_000, 'one event of each type');
    for (const type of types) {
      const documentedEvent = JSON.parse(example(`event-${type}`));
      assert.equal(documentedEvent.type, type);
      const real = receiver.events(type)[0]!;
      assert.deepEqual(shape(real), shape(documentedEvent), type);
      assert.equal(/^task-/.test(real.id), /^task-/.test(documentedEvent.id), `${type}: the id's form`);
    }
  });

  test('the contacts rule lets a user see only the users their token lists', async () => {
    const namespaces = optionsFromEnv({ HERALD_NAMESPACES: assigned(example('contacts-rule'), 'HERALD_NAMESPACES') }).namespaces;
    const own = await startHerald({ jwtSecret: TEST_SECRET, namespaces }, () => {});
    const carol = new Herald(`${own.wsUrl}/connect`, { token: () => hs256Token('carol', { claims: { contacts: ['status:alice', 'status:bob'] } }) }).connect();
    try {
      assert.deepEqual(await carol.online(['alice', 'bob']), { alice: { online: false, lastSeen: null }, bob: { online: false, lastSeen: null } });
      assert.deepEqual(await carol.watchStatus(['alice']), { alice: { online: false, lastSeen: null } });
      const refused = await carol.online(['dave']).catch((error: unknown) => error);
      assert.ok(refused instanceof HeraldClientError);
      assert.equal(refused.code, 'HERALD_ERR_PERMISSION_DENIED');
      await assert.rejects(carol.watchStatus(['dave']), { code: 'HERALD_ERR_PERMISSION_DENIED' });
    } finally {
      carol.close();
      await own.close();
    }
  });

  test('the TypeScript and Python signature checks accept a real request and refuse a tampered one', async () => {
    await server.herald.webhooks.emit('doc.check', { n: 1 });
    await receiver.until((r) => r.events('doc.check').length === 1);
    const request = receiver.received.find((entry) => entry.event.type === 'doc.check')!;
    const header = request.headers['herald-signature'] as string;
    const secret = server.herald.options.webhooks![0]!.secret;
    const tampered = request.body.replace('"n":1', '"n":2');

    const tsFile = join(dir, 'verify.ts');
    await writeFile(tsFile, example('verify-ts'));
    const { verifyHerald } = (await import(tsFile)) as { verifyHerald: (secret: string, header: string, body: string) => boolean };
    assert.equal(verifyHerald(secret, header, request.body), true);
    assert.equal(verifyHerald(secret, header, tampered), false);
    assert.equal(verifyHerald('not-the-secret-at-all', header, request.body), false);

    const pyFile = join(dir, 'verify_check.py');
    await writeFile(pyFile, `${example('verify-python')}\nimport sys\nprint(verify_herald(sys.argv[1], sys.argv[2], sys.argv[3].encode()))\n`);
    const python = async (body: string): Promise<string> => (await run(PYTHON, [pyFile, secret, header, body])).stdout.trim();
    assert.equal(await python(request.body), 'True');
    assert.equal(await python(tampered), 'False');
  });

  test('the dead letters of a failing endpoint, over HTTP', async () => {
    let letters: { deadLetters: unknown[] } = { deadLetters: [] };
    const deadline = Date.now() + 10_000;
    while (letters.deadLetters.length === 0 && Date.now() < deadline) {
      letters = (await curl('dead-letters-curl')) as { deadLetters: unknown[] };
      if (letters.deadLetters.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const documented = JSON.parse(example('dead-letters-curl-output'));
    assert.ok(letters.deadLetters.length >= 1);
    assert.deepEqual(shape(letters), shape(documented));
    assert.deepEqual((letters.deadLetters[0] as { lastError: string }).lastError, 'HTTP 500');
  });

  after(() => {
    assert.deepEqual([...examples.keys()].filter((name) => !ran.has(name)), [], 'every example was run');
  });
});
