import { Redis } from 'ioredis';
import { type BenchRedisCluster } from '../lib/bench-redis-cluster.ts';
import { cpuMs, sleep } from '../lib/children.ts';
import { PER_ADDRESS, sourceAddresses } from '../lib/source-addresses.ts';
import { LoadWorker } from '../loadgen/load-worker.ts';
import { startTarget, TARGETS } from '../targets/targets.ts';
import { describe } from './fan-out.ts';
import { keptUp, runStep, warmUp, type StepResult } from './measure.ts';

/**
 * Per-user channels on one Redis against the bench's 3-primary Redis Cluster: one Herald process,
 * N sockets each on its own channel, publications through `POST /api/publish` spread over every
 * channel, at rising rates until a step loses something or the publisher falls behind (each
 * failing step is tried once more: the machine is shared). For each step: deliveries/s, p50/p99,
 * loss, Herald's CPU per publication and Redis's CPU per publication — on the cluster summed over
 * the primaries, and per primary. Redis's idle CPU (replication pings, cluster bus, BullMQ's
 * polling) is measured before the climb and subtracted.
 */
export interface ClusterManyOptions {
  channels: number;
  durationMs: number;
  rates: number[];
  /** How long each Redis's idle CPU is read for, before the first rate. */
  idleMs: number;
  redisUrl: string;
  cluster: BenchRedisCluster;
}

export interface ClusterManyStep extends StepResult {
  /** Redis CPU per publication in µs: the one Redis, or the cluster's primaries together. */
  redisCpuMicrosPerPublication: number;
  /** On the cluster: each primary's CPU per publication of the whole step, and its share of the publications. */
  perPrimary: Array<{ port: number; cpuMicrosPerPublication: number; publications: number; cpuMicrosPerOwnPublication: number }>;
  /** Commands Redis (all primaries) executed per publication, by name (`INFO commandstats`), e.g. `{ evalsha: 1 }`. */
  commandsPerPublication: Record<string, number>;
  /** Bytes Redis (all primaries) received and sent per publication (`INFO stats` net counters; replication included). */
  netInBytesPerPublication: number;
  netOutBytesPerPublication: number;
}

export interface ClusterManyResult {
  target: 'herald-redis' | 'herald-cluster';
  /** Highest rate (publications/s) kept up with: nothing lost, no HTTP error, publisher on time, p99 < 1 s. */
  maxKeptUp: number;
  steps: ClusterManyStep[];
}

type Redises = { pids: () => Promise<Array<{ port: number; pid: number }>> };

export async function clusterManyChannels(options: ClusterManyOptions, log: (line: string) => void): Promise<ClusterManyResult[]> {
  const single = await pidOf(options.redisUrl);
  const results: ClusterManyResult[] = [];
  for (const name of ['herald-redis', 'herald-cluster'] as const) {
    const redises: Redises = name === 'herald-redis' ? { pids: async () => [single] } : { pids: () => options.cluster.primaries() };
    results.push(await one(name, redises, options, log));
  }
  return results;
}

async function one(name: 'herald-redis' | 'herald-cluster', redises: Redises, options: ClusterManyOptions, log: (line: string) => void): Promise<ClusterManyResult> {
  const spec = TARGETS[name];
  const target = await startTarget(spec, 1, options.redisUrl, options.cluster.nodes);
  const subscribers = new LoadWorker();
  const publisher = new LoadWorker();
  const channels = Array.from({ length: options.channels }, (_, i) => `u-${i}`);
  const shardOf = name === 'herald-cluster' ? await channelShards(options.cluster, target.redisPrefix, channels) : undefined;
  try {
    await Promise.all([subscribers.ready, publisher.ready]);
    const connected = await subscribers.connect({ protocol: spec.protocol, servers: target.servers, channels, localAddresses: sourceAddresses(Math.ceil(channels.length / PER_ADDRESS)), perAddress: PER_ADDRESS, concurrency: 200 });
    if (connected.failed > 0) throw new Error(`${connected.failed} of ${channels.length} subscribers could not connect`);
    const request = { protocol: spec.protocol, mode: 'http' as const, server: target.servers[0]!, channels, httpConnections: 8 };
    await warmUp(publisher, [subscribers], request, 1);
    const nodes = await redises.pids();
    const cpu = (): number[] => nodes.map((n) => cpuMs(n.pid));
    const commands = async (): Promise<Map<string, number>> => {
      const total = new Map<string, number>();
      for (const n of nodes) for (const [command, calls] of await commandCalls(n.port)) total.set(command, (total.get(command) ?? 0) + calls);
      return total;
    };
    const net = async (): Promise<[number, number]> => {
      let input = 0;
      let output = 0;
      for (const n of nodes) {
        const [i, o] = await netBytes(n.port);
        input += i;
        output += o;
      }
      return [input, output];
    };
    // Idle CPU per ms of each Redis.
    const idleFrom = cpu();
    const idleStart = performance.now();
    await sleep(options.idleMs);
    const idlePerMs = cpu().map((c, i) => (c - idleFrom[i]!) / (performance.now() - idleStart));
    log(`  [${name}] Redis idle CPU: ${idlePerMs.map((v) => `${(v * 100).toFixed(2)}%`).join(', ')}`);
    const steps: ClusterManyStep[] = [];
    let maxKeptUp = 0;
    for (const rate of options.rates) {
      let step: ClusterManyStep | undefined;
      for (let attempt = 0; attempt < 2; attempt++) {
        const commandsBefore = await commands();
        const netBefore = await net();
        const before = cpu();
        const started = performance.now();
        const result = await runStep(publisher, [subscribers], { ...request, rate, durationMs: options.durationMs }, 1, { pids: target.pids }, 5000);
        const wallMs = performance.now() - started;
        const spent = cpu().map((c, i) => Math.max(0, c - before[i]! - idlePerMs[i]! * wallMs));
        const commandsAfter = await commands();
        const netAfter = await net();
        const commandsPerPublication: Record<string, number> = {};
        for (const [command, calls] of commandsAfter) {
          const perPublication = Math.round(((calls - (commandsBefore.get(command) ?? 0)) / Math.max(1, result.sent)) * 100) / 100;
          if (perPublication >= 0.01) commandsPerPublication[command] = perPublication;
        }
        const perPub = (ms: number): number => Math.round((ms * 1000 * 100) / Math.max(1, result.sent)) / 100;
        step = {
          ...result,
          redisCpuMicrosPerPublication: perPub(spent.reduce((s, v) => s + v, 0)),
          perPrimary:
            shardOf === undefined
              ? []
              : nodes.map((n, i) => {
                  const publications = Math.round((result.sent * (shardOf.get(n.port) ?? 0)) / channels.length);
                  return { port: n.port, cpuMicrosPerPublication: perPub(spent[i]!), publications, cpuMicrosPerOwnPublication: Math.round((spent[i]! * 1000 * 100) / Math.max(1, publications)) / 100 };
                }),
          commandsPerPublication,
          netInBytesPerPublication: Math.round((netAfter[0] - netBefore[0]) / Math.max(1, result.sent)),
          netOutBytesPerPublication: Math.round((netAfter[1] - netBefore[1]) / Math.max(1, result.sent)),
        };
        log(`  [${name}] ${describe(result)}; Redis ${step.redisCpuMicrosPerPublication} µs CPU per publication${step.perPrimary.length > 0 ? ` (${step.perPrimary.map((p) => `${p.port}: ${p.cpuMicrosPerOwnPublication} µs per own publication, ${p.publications} publications`).join('; ')})` : ''}; commands per publication ${JSON.stringify(commandsPerPublication)}; ${step.netInBytesPerPublication} B in, ${step.netOutBytesPerPublication} B out per publication`);
        if (keptUp(result)) break;
        await sleep(1000);
      }
      steps.push(step!);
      if (!keptUp(step!)) break;
      maxKeptUp = rate;
    }
    return { target: name, maxKeptUp, steps };
  } finally {
    await Promise.all([subscribers.exit(), publisher.exit()]);
    await target.stop();
  }
}

/** `INFO commandstats` of one node: calls per command. */
async function commandCalls(port: number): Promise<Map<string, number>> {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = await client.info('commandstats');
    return new Map([...info.matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
  } finally {
    client.disconnect();
  }
}

/** Bytes a node has received and sent since it started (`INFO stats`). */
async function netBytes(port: number): Promise<[number, number]> {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = await client.info('stats');
    return [Number(/^total_net_input_bytes:(\d+)/m.exec(info)![1]), Number(/^total_net_output_bytes:(\d+)/m.exec(info)![1])];
  } finally {
    client.disconnect();
  }
}

/** The redis-server pid behind a URL (for /proc). */
async function pidOf(url: string): Promise<{ port: number; pid: number }> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = await client.info('server');
    return { port: Number(/^tcp_port:(\d+)/m.exec(info)![1]), pid: Number(/^process_id:(\d+)/m.exec(info)![1]) };
  } finally {
    client.disconnect();
  }
}

/** How many of the channels each primary owns (the shard channel `<prefix><channel>` is its own hash tag). */
async function channelShards(cluster: BenchRedisCluster, prefix: string, channels: string[]): Promise<Map<number, number>> {
  const first = cluster.nodes.split(',')[0]!.split(':');
  const client = new Redis(Number(first[1]), first[0]!, { lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  try {
    await client.connect();
    const slots = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    const counts = new Map<number, number>();
    const pipeline = client.pipeline();
    for (const channel of channels) pipeline.call('CLUSTER', 'KEYSLOT', `${prefix}${channel}`);
    for (const [error, slot] of (await pipeline.exec()) ?? []) {
      if (error !== null) throw error;
      const owner = slots.find(([from, to]) => (slot as number) >= from && (slot as number) <= to)![2][1];
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    return counts;
  } finally {
    client.disconnect();
  }
}

/** The markdown table of this scenario. */
export function clusterManyTable(results: ClusterManyResult[], channels: number): string {
  const lines = [
    `### Many channels, one Redis vs a 3-primary Redis Cluster (${channels.toLocaleString('en-US')} sockets, one channel each, one Herald process, publications over HTTP)`,
    '',
    '| target | publications/s | deliveries/s | p50 / p99 | lost | HTTP errors | Herald CPU per publication | Redis CPU per publication (all primaries) | each primary: CPU per publication it owns (its publications) | Redis bytes in / out per publication | Redis commands per publication |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|',
  ];
  for (const r of results) {
    for (const s of r.steps) {
      lines.push(
        `| ${TARGETS[r.target].label} | ${s.rate.toLocaleString('en-US')} | ${s.deliveriesPerSec.toLocaleString('en-US')} | ${s.p50Ms} ms / ${s.p99Ms} ms | ${s.lost} | ${s.publishErrors} | ${s.serverCpuMicrosPerDelivery} µs | ${s.redisCpuMicrosPerPublication} µs | ${s.perPrimary.map((p) => `${p.cpuMicrosPerOwnPublication} µs (${p.publications.toLocaleString('en-US')})`).join(' · ') || '—'} | ${s.netInBytesPerPublication} / ${s.netOutBytesPerPublication} B | ${Object.entries(s.commandsPerPublication).map(([c, v]) => `${c.replace('|', ' ')} ${v}`).join(', ')} |`,
      );
    }
  }
  lines.push('', '| target | highest rate kept up with (nothing lost, p99 < 1 s, publisher on time) |', '|---|---:|');
  for (const r of results) lines.push(`| ${TARGETS[r.target].label} | ${r.maxKeptUp.toLocaleString('en-US')} publications/s |`);
  lines.push('');
  return lines.join('\n');
}
