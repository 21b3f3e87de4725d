import { sleep } from '../lib/children.ts';
import type { BenchRedis } from '../lib/redis-server.ts';
import { PER_ADDRESS, sourceAddresses } from '../lib/source-addresses.ts';
import { LoadWorker } from '../loadgen/load-worker.ts';
import { startTarget, type TargetSpec } from '../targets/targets.ts';
import { describe } from './fan-out.ts';
import { runStep, warmUp, type StepResult } from './measure.ts';

/**
 * Per-user channels on one process with Redis: N sockets, each on its own channel, and one
 * publication per channel per second through `POST /api/publish`. Then churn: sockets join
 * channels that already have a local subscriber and leave again (which should cost Redis nothing),
 * and sole subscribers leave and come back (one UNSUBSCRIBE / SUBSCRIBE per channel at most,
 * ideally batched into a few commands).
 */
export interface ManyChannelsOptions {
  channels: number;
  durationMs: number;
  redis: BenchRedis;
}

export interface ChurnStep {
  step: string;
  sockets: number;
  /** SUBSCRIBE and UNSUBSCRIBE commands Redis received (each may name many channels). */
  subscribeCommands: number;
  unsubscribeCommands: number;
  /** This target's channels subscribed in Redis after the step. */
  redisChannels: number;
}

export interface ManyChannelsResult {
  target: string;
  step: StepResult;
  churn: ChurnStep[];
}

export async function manyChannels(spec: TargetSpec, options: ManyChannelsOptions, log: (line: string) => void): Promise<ManyChannelsResult> {
  const target = await startTarget(spec, 1, options.redis.url);
  const subscribers = new LoadWorker();
  const publisher = new LoadWorker();
  const channels = Array.from({ length: options.channels }, (_, i) => `u-${i}`);
  try {
    await Promise.all([subscribers.ready, publisher.ready]);
    const connected = await subscribers.connect({ protocol: spec.protocol, servers: target.servers, channels, localAddresses: sourceAddresses(Math.ceil(channels.length / PER_ADDRESS)), perAddress: PER_ADDRESS, concurrency: 200 });
    if (connected.failed > 0) throw new Error(`${connected.failed} of ${channels.length} subscribers could not connect`);
    const request = { protocol: spec.protocol, mode: 'http' as const, server: target.servers[0]!, channels, httpConnections: 8 };
    await warmUp(publisher, [subscribers], request, 1);
    const probes = { pids: target.pids, loopDelay: target.loopDelay, redis: spec.redis ? options.redis : undefined };
    const step = await runStep(publisher, [subscribers], { ...request, rate: channels.length, durationMs: options.durationMs }, 1, probes, 5000);
    log(`  [${spec.name}] ${describe(step)}`);

    const churn: ChurnStep[] = [];
    const tenth = Math.max(1, Math.floor(channels.length / 10));
    const measure = async (name: string, sockets: number, change: () => Promise<void>): Promise<void> => {
      const before = await options.redis.commandCalls();
      await change();
      const after = await settled(options.redis, target.redisPrefix);
      const calls = await options.redis.commandCalls();
      const entry = {
        step: name,
        sockets,
        subscribeCommands: (calls.subscribe ?? 0) - (before.subscribe ?? 0),
        unsubscribeCommands: (calls.unsubscribe ?? 0) - (before.unsubscribe ?? 0),
        redisChannels: after,
      };
      churn.push(entry);
      log(`  [${spec.name}] churn: ${name} (${sockets} sockets): ${entry.subscribeCommands} SUBSCRIBE, ${entry.unsubscribeCommands} UNSUBSCRIBE, ${after} channels in Redis`);
    };
    let extra = { first: 0 };
    await measure('second socket joins a subscribed channel', tenth, async () => {
      extra = await subscribers.connect({ protocol: spec.protocol, servers: target.servers, channels: channels.slice(0, tenth), localAddresses: sourceAddresses(Math.ceil(channels.length / PER_ADDRESS)), perAddress: PER_ADDRESS, concurrency: 200 });
    });
    await measure('second socket leaves', tenth, () => subscribers.close(extra.first, tenth));
    await measure('last socket of a channel leaves', tenth, () => subscribers.close(0, tenth));
    await measure('first socket of a channel joins', tenth, async () => {
      await subscribers.connect({ protocol: spec.protocol, servers: target.servers, channels: channels.slice(0, tenth), localAddresses: sourceAddresses(Math.ceil(channels.length / PER_ADDRESS)), perAddress: PER_ADDRESS, concurrency: 200 });
    });
    return { target: spec.name, step, churn };
  } finally {
    await Promise.all([subscribers.exit(), publisher.exit()]);
    await target.stop();
  }
}

/** Waits until the count of the target's channels in Redis stops changing (1 s quiet, 10 s at most). */
async function settled(redis: BenchRedis, prefix: string): Promise<number> {
  let last = await redis.channelCount(prefix);
  let quietSince = Date.now();
  const deadline = Date.now() + 10_000;
  while (Date.now() - quietSince < 1000 && Date.now() < deadline) {
    await sleep(200);
    const now = await redis.channelCount(prefix);
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    }
  }
  return last;
}
