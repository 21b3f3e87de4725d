import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { installCoreApp } from '../src/app/core-app.ts';
import type { Publication } from '../src/channels/publication.ts';
import { clusterSlot } from '../src/engine/cluster-slot.ts';
import { engineFromOptions } from '../src/engine/engine-from-options.ts';
import { resolveOptions, type HeraldOptions } from '../src/config.ts';
import type { Herald } from '../src/herald.ts';
import { PrivateRedisCluster } from './support/redis-cluster.ts';
import { postJson, startHerald, uniquePrefix, waitFor, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

const run = promisify(execFile);

/**
 * Herald on a private Redis Cluster (3 primaries, 3 replicas): sharded Pub/Sub across processes,
 * the cluster wire format for other programs, the connections a process opens, interest routing,
 * readiness while a shard fails over and after a full restart, tasks and schedules.
 */
describe('Redis Cluster engine', () => {
  let cluster: PrivateRedisCluster;
  const servers: RunningHerald[] = [];

  before(async () => {
    cluster = await PrivateRedisCluster.start();
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await cluster.stop();
  });

  /**
   * A core server on the cluster; `received` counts every publication the engine hands this process
   * (what it receives from Redis), by channel.
   */
  async function server(options: HeraldOptions = {}, install: (herald: Herald) => void = installCoreApp): Promise<RunningHerald & { received: Map<string, number> }> {
    const all: HeraldOptions = { redisClusterNodes: cluster.nodesSetting, taskWorkers: 0, canaryIntervalMs: 300, ...options };
    const engine = engineFromOptions(resolveOptions(all));
    const received = new Map<string, number>();
    const start = engine.broker.start.bind(engine.broker);
    engine.broker.start = (sink) =>
      start((publication: Publication) => {
        received.set(publication.channel, (received.get(publication.channel) ?? 0) + 1);
        sink(publication);
      });
    const running = await startHerald({ ...all, engine } as HeraldOptions, install);
    servers.push(running);
    return Object.assign(running, { received });
  }

  async function ready(url: string): Promise<number> {
    return (await fetch(`${url}/readyz`)).status;
  }

  test('a publication on one process reaches sockets on another, once; other programs publish with SPUBLISH <prefix><channel>', async () => {
    const prefix = uniquePrefix();
    const a = await server({ redisPrefix: prefix });
    const b = await server({ redisPrefix: prefix });
    const channels = ['news', 'sport', 'weather', 'user-1', 'a.b.c'];
    const sockets = await Promise.all(channels.map((channel) => TestClient.open(`${a.wsUrl}/ws/${channel}`)));
    for (const channel of channels) assert.deepEqual(await postJson(`${b.url}/api/publish`, { channel, data: `to ${channel}` }), { status: 200, body: { ok: true } });
    for (const [index, socket] of sockets.entries()) assert.deepEqual(await socket.take(1), [`to ${channels[index]}`]);
    // Another program, through redis-cli in cluster mode: the shard channel is the single-Redis name.
    await run('redis-cli', ['-c', '-p', String(cluster.nodes[0]!.port), 'SPUBLISH', `${prefix}news`, 'hello']);
    await run('redis-cli', ['-c', '-p', String(cluster.nodes[3]!.port), 'SPUBLISH', `${prefix}sport`, '{"a":1}']);
    assert.deepEqual(await sockets[0]!.take(1), ['hello']);
    assert.deepEqual(await sockets[1]!.take(1), ['{"a":1}']);
    for (const socket of sockets) assert.equal(await socket.silentFor(200), true);
    await Promise.all(sockets.map((socket) => socket.close()));
  });

  test('the admin channel search lists the channels every process subscribes to, from every shard, with every process\'s subscribers', async () => {
    const prefix = uniquePrefix();
    const key = 'admin-key-for-the-cluster-test';
    const a = await server({ redisPrefix: prefix, apiKey: key });
    const b = await server({ redisPrefix: prefix, apiKey: key });
    const names = Array.from({ length: 12 }, (_, i) => `room-${String(i).padStart(2, '0')}`);
    const sockets = await Promise.all([...names.map((name) => TestClient.open(`${a.wsUrl}/ws/${name}`)), TestClient.open(`${b.wsUrl}/ws/room-00`)]);
    assert.ok(new Set(names.map((name) => clusterSlot(prefix + name))).size > 3);
    const response = await fetch(`${b.url}/api/admin/channels?prefix=room-`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(response.status, 200);
    const { channels, nodes } = (await response.json()) as { channels: Array<{ channel: string; processes: number; subscribers: number; localSubscribers: number }>; nodes: { answered: number; expected: number } };
    assert.deepEqual(channels, names.map((channel) => ({ channel, processes: channel === 'room-00' ? 2 : 1, subscribers: channel === 'room-00' ? 2 : 1, localSubscribers: channel === 'room-00' ? 1 : 0 })));
    assert.deepEqual(nodes, { answered: 2, expected: 2 });
    await Promise.all(sockets.map((socket) => socket.close()));
  });

  test('a process opens one command and one subscriber connection per primary (tasks and schedules aside)', async () => {
    const prefix = uniquePrefix();
    const a = await server({ redisPrefix: prefix });
    await a.herald.publish('warm', 1);
    const primaries = await cluster.primaries();
    assert.equal(primaries.length, 3);
    for (const port of primaries) {
      const client = cluster.nodeClient(port);
      const list = ((await client.client('LIST')) as string).split('\n');
      client.disconnect();
      const names = list.map((line) => /name=(\S*)/.exec(line)?.[1] ?? '').filter((name) => name.endsWith(`:${prefix}:${process.pid}`)).sort();
      // The task queue's own cluster client connects to the nodes it has used: at most one each.
      const own = names.filter((name) => !name.startsWith('herald-tasks:'));
      assert.deepEqual(own, [`herald-commands:${prefix}:${process.pid}`, `herald-subscriber:${prefix}:${process.pid}`], `on ${port}`);
      assert.ok(names.length - own.length <= 1, `on ${port}: ${names.join(', ')}`);
    }
  });

  test('interest routing: a process receives no publication of a channel it has no subscriber of', async () => {
    const prefix = uniquePrefix();
    const processes = await Promise.all([0, 1, 2, 3].map(() => server({ redisPrefix: prefix })));
    // Disjoint channel sets, 8 channels each, spread over the shards.
    const sets = processes.map((_, p) => Array.from({ length: 8 }, (_, i) => `p${p}-c${i}`));
    const slots = new Set(sets.flat().map((channel) => clusterSlot(prefix + channel)));
    assert.ok(slots.size > 3);
    const sockets = await Promise.all(processes.flatMap((proc, p) => sets[p]!.map((channel) => TestClient.open(`${proc.wsUrl}/ws/${channel}`))));
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      for (const channel of sets.flat()) {
        const reply = await postJson(`${processes[round % 4]!.url}/api/publish`, { channel, data: round });
        assert.equal(reply.status, 200);
      }
    }
    for (const socket of sockets) assert.deepEqual(await socket.take(rounds), Array.from({ length: rounds }, (_, i) => String(i)));
    for (const [p, proc] of processes.entries()) {
      const own = new Map([...proc.received].filter(([channel]) => !channel.startsWith('#')));
      assert.deepEqual(own, new Map(sets[p]!.map((channel) => [channel, rounds])), `process ${p} received only its own channels, each publication once`);
      // Herald's own counter says the same.
      const metrics = await (await fetch(`${proc.url}/metrics`)).text();
      assert.match(metrics, new RegExp(`^herald_broker_received_total ${sets[p]!.length * rounds}$`, 'm'));
    }
    await Promise.all(sockets.map((socket) => socket.close()));
  });

  test('/readyz is 503 while a shard has no reachable primary, and 200 again by itself after the failover', async () => {
    const prefix = uniquePrefix();
    const a = await server({ redisPrefix: prefix });
    const b = await server({ redisPrefix: prefix });
    await waitFor(async () => (await ready(a.url)) === 200 && (await ready(b.url)) === 200, 10_000, 'both ready');
    const channel = 'failover-news';
    const victim = await cluster.primaryOf(clusterSlot(prefix + channel));
    const socket = await TestClient.open(`${a.wsUrl}/ws/${channel}`);
    await cluster.kill(victim);
    await waitFor(async () => (await ready(a.url)) === 503, 10_000, 'not ready after the primary died');
    const during = await postJson(`${b.url}/api/publish`, { channel, data: 'maybe' });
    assert.ok([200, 503, 504].includes(during.status), `a publish during the failover is answered 200, 503 or 504: ${during.status}`);
    await waitFor(async () => (await ready(a.url)) === 200 && (await ready(b.url)) === 200, 30_000, 'ready again after the replica took over');
    assert.notEqual(await cluster.primaryOf(clusterSlot(prefix + channel)), victim);
    assert.deepEqual(await postJson(`${b.url}/api/publish`, { channel, data: 'after' }), { status: 200, body: { ok: true } });
    // The socket stayed subscribed: its channel moved to the new primary.
    const frames = [];
    for (;;) {
      const frame = await socket.next(5000);
      frames.push(frame);
      if (frame === 'after') break;
    }
    assert.ok(frames.length <= 2 && (frames.length === 1 || frames[0] === 'maybe'), frames.join(','));
    await socket.close();
    await cluster.restart(victim);
    await cluster.waitHealthy();
  });

  test('a full cluster restart ends with every process ready again, delivering, without restarting Herald', async () => {
    const prefix = uniquePrefix();
    const a = await server({ redisPrefix: prefix });
    const b = await server({ redisPrefix: prefix });
    const socket = await TestClient.open(`${a.wsUrl}/ws/restart-news`);
    await cluster.restartAll();
    await waitFor(async () => (await ready(a.url)) === 200 && (await ready(b.url)) === 200, 60_000, 'ready again after the restart');
    await waitFor(async () => (await postJson(`${b.url}/api/publish`, { channel: 'restart-news', data: 'back' })).status === 200, 10_000, 'a publish accepted');
    assert.equal(await socket.next(5000), 'back');
    await socket.close();
  });

  test('tasks run and schedules tick on the cluster (BullMQ under one hash tag)', async () => {
    const prefix = uniquePrefix();
    let ticks = 0;
    const a = await server({ redisPrefix: prefix, taskWorkers: 2 }, (herald) => {
      installCoreApp(herald);
      herald.task('double', async (n: number) => n * 2);
      herald.schedule('count', { everyMs: 200 }, async () => {
        ticks++;
      });
    });
    assert.equal(await a.herald.tasks.run('double', 21), 42);
    await waitFor(() => ticks >= 2, 10_000, 'two schedule ticks');
    const client = cluster.client();
    await new Promise((resolve) => client.once('ready', resolve));
    const keys = await Promise.all(client.nodes('master').map((node) => node.keys(`{${prefix}bull}:*`)));
    client.disconnect();
    assert.equal(keys.filter((found) => found.length > 0).length, 1, 'every queue key on one shard');
  });
});
