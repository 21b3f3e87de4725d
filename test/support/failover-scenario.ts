import assert from 'node:assert/strict';
import { Herald as Client, type SubscribedEvent } from '../../client/node.ts';
import { installCoreApp } from '../../src/app/core-app.ts';
import type { HeraldOptions } from '../../src/config.ts';
import { startHerald, waitFor, type RunningHerald } from './servers.ts';

/** What one SDK client saw on one channel. */
interface Stream {
  received: number[];
  /** Indexes into `received` at which the client was told `recovered: false`. */
  lost: number[];
}

export interface FailoverOutcome {
  /** Publications answered 200, 503 and 504, over all channels. */
  accepted: number;
  refused: number;
  unknown: number;
  /** Client × channel streams that were told `recovered: false`. */
  toldLost: number;
  streams: number;
}

/**
 * The failover guarantee, end to end: two Herald processes on `options` (a Redis Cluster or
 * Sentinel), SDK `/connect` clients on both following `channels` (history kept, as every channel
 * by default), and a publisher publishing rounds to every channel through the HTTP API of both
 * processes. After a few rounds `fail()` kills a Redis primary; publishing goes on until both
 * processes are ready again (having reported not ready meanwhile) and a few more rounds are
 * accepted. Then, for every client and
 * channel: what arrived is in order and never twice; unless the client was told `recovered: false`
 * for that channel, every accepted publication arrived; and nothing answered 503 arrived.
 */
export async function failoverScenario(options: { herald: HeraldOptions; channels: string[]; fail: () => Promise<void> }): Promise<FailoverOutcome> {
  const servers: RunningHerald[] = [];
  const clients: Client[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      servers.push(await startHerald({ taskWorkers: 0, canaryIntervalMs: 300, positionCheckMs: 300, publishTimeoutMs: 2000, ...options.herald }, installCoreApp));
    }
    const streams = new Map<string, Stream>();
    const subscriptions: Promise<SubscribedEvent>[] = [];
    for (let c = 0; c < 4; c++) {
      const client = new Client(`${servers[c % 2]!.url.replace(/^http/, 'ws')}/connect`, { minReconnectDelayMs: 100, maxReconnectDelayMs: 1000 }).connect();
      clients.push(client);
      for (const channel of options.channels) {
        const stream: Stream = { received: [], lost: [] };
        streams.set(`${c} ${channel}`, stream);
        const subscription = client.subscribe(channel, (data) => stream.received.push((data as { round: number }).round));
        subscription.on('subscribed', (event) => {
          if (event.resubscribed && !event.recovered) stream.lost.push(stream.received.length);
        });
        subscriptions.push(subscription.ready);
      }
    }
    await Promise.all(subscriptions);

    const answers = new Map<string, Map<number, number>>(options.channels.map((channel) => [channel, new Map()]));
    let round = 0;
    const publishRound = async (): Promise<void> => {
      round++;
      const current = round;
      await Promise.all(
        options.channels.map(async (channel, index) => {
          const server = servers[(index + current) % 2]!;
          let status: number;
          try {
            const response = await fetch(`${server.url}/api/publish`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ channel, data: { round: current } }),
              signal: AbortSignal.timeout(10_000),
            });
            status = response.status;
            await response.arrayBuffer();
          } catch {
            status = 0;
          }
          answers.get(channel)!.set(current, status);
        }),
      );
    };
    const ready = async (): Promise<boolean> => (await Promise.all(servers.map(async (server) => (await fetch(`${server.url}/readyz`)).status === 200))).every(Boolean);

    for (let i = 0; i < 5; i++) await publishRound();
    await options.fail();
    const failedAt = Date.now();
    // Readiness says so while the primary is gone (publishing goes on meanwhile).
    let publishing = true;
    const rounds = (async () => {
      while (publishing) await publishRound();
    })();
    await waitFor(async () => !(await ready()), 20_000, 'a process not ready after the primary died').finally(() => (publishing = false));
    await rounds;
    // Keep publishing through the failover until both processes are ready again.
    while (!(await ready())) {
      assert.ok(Date.now() - failedAt < 60_000, 'ready again within 60 s');
      await publishRound();
    }
    // Then until 5 more rounds were accepted everywhere.
    let clean = 0;
    while (clean < 5) {
      assert.ok(Date.now() - failedAt < 90_000, 'publishes accepted again within 90 s');
      await publishRound();
      clean = [...answers.values()].every((byRound) => byRound.get(round) === 200) ? clean + 1 : 0;
    }
    const last = round;
    await waitFor(() => [...streams.values()].every((stream) => stream.received.at(-1) === last), 30_000, 'every client to reach the last round on every channel');

    let accepted = 0;
    let refused = 0;
    let unknown = 0;
    let toldLost = 0;
    for (const [key, stream] of streams) {
      const channel = key.slice(key.indexOf(' ') + 1);
      const byRound = answers.get(channel)!;
      for (let i = 1; i < stream.received.length; i++) {
        assert.ok(stream.received[i]! > stream.received[i - 1]!, `${key}: in order, never twice: ${stream.received.join(',')}`);
      }
      const got = new Set(stream.received);
      for (const r of got) assert.notEqual(byRound.get(r), 503, `${key}: round ${r} was answered 503 and still arrived`);
      if (stream.lost.length > 0) toldLost++;
      else {
        const missing = [...byRound].filter(([r, status]) => status === 200 && !got.has(r)).map(([r]) => r);
        assert.deepEqual(missing, [], `${key}: accepted publications missing without a recovered:false`);
      }
    }
    for (const byRound of answers.values()) {
      for (const status of byRound.values()) {
        if (status === 200) accepted++;
        else if (status === 503) refused++;
        else if (status === 504) unknown++;
        else assert.fail(`a publish was answered ${status}: only 200, 503 or 504 are allowed`);
      }
    }
    return { accepted, refused, unknown, toldLost, streams: streams.size };
  } finally {
    for (const client of clients) client.close();
    await Promise.all(servers.map((server) => server.close()));
  }
}
