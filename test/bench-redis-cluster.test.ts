import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { test } from 'node:test';
import { Cluster } from 'ioredis';
import { startBenchRedisCluster } from '../bench/lib/bench-redis-cluster.ts';
import { cpuMs } from '../bench/lib/children.ts';

test("the bench's Redis Cluster: 3 primaries serving every slot, never 6379, CPU readable, and nothing left after close", { skip: cpus().length < 2 ? 'the bench pins its Redis to CPU 1' : false }, async () => {
  const cluster = await startBenchRedisCluster();
  let pids: number[] = [];
  try {
    const nodes = cluster.nodes.split(',');
    assert.equal(nodes.length, 6);
    assert.ok(nodes.every((node) => /^127\.0\.0\.1:\d+$/.test(node) && node !== '127.0.0.1:6379'));
    const primaries = await cluster.primaries();
    assert.equal(primaries.length, 3);
    pids = primaries.map((p) => p.pid);
    const client = new Cluster(nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })));
    client.on('error', () => {});
    try {
      // Keys in three different slots land on the cluster and read back.
      for (const key of ['a', 'b', 'c']) await client.set(`bench-test:${key}`, key);
      assert.deepEqual(await Promise.all(['a', 'b', 'c'].map((key) => client.get(`bench-test:${key}`))), ['a', 'b', 'c']);
    } finally {
      client.disconnect();
    }
    const cpu = await cluster.primaryCpuMs();
    assert.equal(cpu.size, 3);
    assert.ok([...cpu.values()].every((ms) => ms > 0));
    assert.ok(cpuMs(process.pid) > 0);
  } finally {
    await cluster.close();
  }
  // Each node's shell kills it when the bench's pipe closes: none may outlive close().
  const deadline = Date.now() + 5000;
  while (pids.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(pids.filter((pid) => existsSync(`/proc/${pid}`)), []);
});
