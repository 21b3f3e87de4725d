import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { NodeAnnouncement } from '../src/cluster/node-announcement.ts';
import { packageVersion } from '../src/package-version.ts';
import { REDIS_URL, redisClient, spawnHerald, startHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { PrivateRedis } from './support/redis-server.ts';
import { TestClient } from './support/ws-client.ts';

interface NodesReply {
  self: string;
  announceIntervalMs: number;
  nodes: NodeAnnouncement[];
}

const FIELDS = [
  'announcedAt', 'broker', 'channels', 'connections', 'cpu', 'deliveriesPerSecond', 'eventLoopDelayP99Ms', 'host', 'id',
  'memory', 'pid', 'port', 'publicationsPerSecond', 'startedAt', 'version',
];

async function nodesOf(url: string): Promise<NodesReply> {
  const response = await fetch(`${url}/api/nodes`);
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as NodesReply;
}

const portOf = (url: string): number => Number(new URL(url).port);

function assertSaneNode(node: NodeAnnouncement): void {
  assert.deepEqual(Object.keys(node).sort(), FIELDS);
  assert.deepEqual(Object.keys(node.memory).sort(), ['heapUsedBytes', 'rssBytes']);
  assert.equal(node.version, packageVersion());
  assert.ok(node.host.length > 0);
  assert.ok(Number.isInteger(node.pid) && node.pid > 0);
  assert.ok(Date.parse(node.startedAt) <= Date.parse(node.announcedAt));
  assert.ok(Date.now() - Date.parse(node.announcedAt) < 60_000);
  assert.ok(node.memory.rssBytes > 0 && node.memory.heapUsedBytes > 0 && node.memory.heapUsedBytes < node.memory.rssBytes);
  for (const value of [node.cpu, node.eventLoopDelayP99Ms, node.publicationsPerSecond, node.deliveriesPerSecond]) {
    assert.ok(Number.isFinite(value) && value >= 0, `${value}`);
  }
}

describe('GET /api/nodes on the embedded broker', () => {
  test('lists this process alone, with its own numbers, refreshed every interval', async () => {
    const server = await startHerald({ nodeAnnounceMs: 200 });
    const sockets: TestClient[] = [];
    try {
      const first = await nodesOf(server.url);
      assert.equal(first.announceIntervalMs, 200);
      assert.equal(first.nodes.length, 1);
      const [node] = first.nodes;
      assertSaneNode(node!);
      assert.equal(node!.id, first.self);
      assert.equal(node!.port, portOf(server.url));
      assert.equal(node!.pid, process.pid);
      assert.equal(node!.broker, 'memory');
      assert.equal(node!.connections, 0);

      sockets.push(await TestClient.open(`${server.wsUrl}/ws/news`), await TestClient.open(`${server.wsUrl}/ws/news`));
      // Publications reach both sockets: deliveries are twice the publications while they go on.
      let seen: NodeAnnouncement | undefined;
      await waitFor(async () => {
        for (let i = 0; i < 20; i++) await server.herald.publish('news', { i });
        seen = (await nodesOf(server.url)).nodes[0];
        return seen!.connections === 2 && seen!.channels === 1 && seen!.publicationsPerSecond > 0;
      }, 10_000, 'an announcement with the two sockets and the publications');
      assert.equal(seen!.id, first.self);
      assert.ok(seen!.deliveriesPerSecond > seen!.publicationsPerSecond, JSON.stringify(seen));
    } finally {
      for (const socket of sockets) socket.ws.close();
      await server.close();
    }
  });

  test('answers only what the rest of /api answers: 401 without the API key', async () => {
    const server = await startHerald({ apiKey: 'nodes-test-key' });
    try {
      const refused = await fetch(`${server.url}/api/nodes`);
      assert.equal(refused.status, 401);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'HERALD_ERR_UNAUTHORIZED');
      const allowed = await fetch(`${server.url}/api/nodes`, { headers: { authorization: 'Bearer nodes-test-key' } });
      assert.equal(allowed.status, 200);
      assert.equal(((await allowed.json()) as NodesReply).nodes.length, 1);
    } finally {
      await server.close();
    }
  });
});

describe('GET /api/nodes across processes (Redis)', () => {
  const INTERVAL_MS = 1000;
  const prefix = uniquePrefix();
  const env = { REDIS_URL, HERALD_REDIS_PREFIX: prefix, HERALD_NODE_ANNOUNCE_MS: String(INTERVAL_MS) };
  const servers: HeraldProcess[] = [];
  const sockets: TestClient[] = [];
  after(async () => {
    for (const socket of sockets) socket.ws.close();
    await Promise.all(servers.map((server) => server.stop('SIGKILL')));
    const redis = redisClient();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  test('every process lists all, with their own ports and sockets; SIGKILL drops out within 3 intervals; SIGTERM at once', async () => {
    const [a, b, c] = await Promise.all([spawnHerald(env), spawnHerald(env), spawnHerald(env)]);
    servers.push(a!, b!, c!);
    const replies = await Promise.all([a!, b!, c!].map((server) => nodesOf(server.url)));
    const ids = replies.map((reply) => reply.self);
    assert.equal(new Set(ids).size, 3);
    for (const reply of replies) {
      assert.equal(reply.announceIntervalMs, INTERVAL_MS);
      assert.deepEqual(reply.nodes.map((node) => node.id).sort(), [...ids].sort());
      for (const node of reply.nodes) {
        assertSaneNode(node);
        assert.equal(node.broker, 'redis');
      }
    }
    // Each node reports the port and pid of the process whose id it is.
    for (const [i, server] of [a!, b!, c!].entries()) {
      const own = replies[i]!.nodes.find((node) => node.id === ids[i])!;
      assert.equal(own.port, portOf(server.url));
      assert.equal(own.pid, server.child.pid);
    }

    // Real sockets: two on a, one on b, none on c; every process sees the same counts.
    sockets.push(
      await TestClient.open(`${a!.wsUrl}/ws/news`),
      await TestClient.open(`${a!.wsUrl}/ws/sports`),
      await TestClient.open(`${b!.wsUrl}/ws/news`),
    );
    const expected = { [ids[0]!]: [2, 2], [ids[1]!]: [1, 1], [ids[2]!]: [0, 0] };
    const counts = (reply: NodesReply) => Object.fromEntries(reply.nodes.map((node) => [node.id, [node.connections, node.channels]]));
    let seen: unknown;
    await waitFor(async () => {
      const all = await Promise.all([a!, b!, c!].map((server) => nodesOf(server.url)));
      seen = all.map(counts);
      return all.every((reply) => isDeepStrictEqual(counts(reply), expected));
    }, 5 * INTERVAL_MS, 'every process to list the sockets of each').catch((error: Error) => {
      throw new Error(`${error.message}: expected ${JSON.stringify(expected)}, last seen ${JSON.stringify(seen)}`);
    });

    // SIGKILL: no goodbye, so a drops out when its last announcement expires.
    const beforeKill = (await nodesOf(c!.url)).nodes.find((node) => node.id === ids[0])!;
    a!.child.kill('SIGKILL');
    await a!.exited;
    await waitFor(async () => !(await nodesOf(c!.url)).nodes.some((node) => node.id === ids[0]), 3 * INTERVAL_MS + 2000, 'the killed process to drop out');
    const goneAt = Date.now();
    assert.ok(goneAt - Date.parse(beforeKill.announcedAt) <= 3 * INTERVAL_MS + 250, `dropped out ${goneAt - Date.parse(beforeKill.announcedAt)} ms after its last announcement`);
    assert.deepEqual((await nodesOf(b!.url)).nodes.map((node) => node.id).sort(), [ids[1], ids[2]].sort());

    // SIGTERM: b removes itself while shutting down, so c no longer lists it right after it exits.
    assert.equal(await b!.stop('SIGTERM'), 0);
    const afterStop = await nodesOf(c!.url);
    assert.deepEqual(afterStop.nodes.map((node) => node.id), [ids[2]]);
    const redis = redisClient();
    try {
      assert.equal(await redis.exists(`${prefix}node:${ids[1]}`), 0);
      assert.deepEqual(await redis.zrange(`${prefix}nodes`, 0, -1), [ids[2]]);
    } finally {
      redis.disconnect();
    }
  });
});

describe('GET /api/nodes while Redis is down', () => {
  test('answers 503 BROKER_UNAVAILABLE, and the process is listed again once Redis is back (empty)', async () => {
    const redis = await PrivateRedis.start();
    const server = await startHerald({ redisUrl: redis.url, redisPrefix: uniquePrefix(), nodeAnnounceMs: 200 });
    try {
      const before = await nodesOf(server.url);
      assert.deepEqual(before.nodes.map((node) => node.id), [before.self]);
      await redis.stop();
      const down = await fetch(`${server.url}/api/nodes`);
      assert.equal(down.status, 503);
      assert.equal(((await down.json()) as { error: { code: string } }).error.code, 'HERALD_ERR_BROKER_UNAVAILABLE');
      // A Redis restarted without its data: the next announcement after the reconnect lists the node again.
      await redis.restart();
      await waitFor(async () => {
        const response = await fetch(`${server.url}/api/nodes`);
        if (response.status !== 200) return false;
        const reply = (await response.json()) as NodesReply;
        return reply.nodes.length === 1 && reply.nodes[0]!.id === before.self;
      }, 10_000, 'the node to be listed again');
    } finally {
      await server.close();
      await redis.remove();
    }
  });
});
