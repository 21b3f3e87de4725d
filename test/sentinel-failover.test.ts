import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { failoverScenario } from './support/failover-scenario.ts';
import { PrivateSentinels } from './support/redis-sentinel.ts';
import { uniquePrefix } from './support/servers.ts';

let sentinels: PrivateSentinels;
before(async () => {
  sentinels = await PrivateSentinels.start({ downAfterMs: 1000 });
});
after(() => sentinels.stop());

test('the Sentinel primary killed mid-stream: Herald follows the new primary; every SDK stream is complete or told recovered:false; every publish answered', async (t) => {
  const primary = await sentinels.primary();
  const outcome = await failoverScenario({
    herald: { redisSentinels: sentinels.sentinelsSetting, redisSentinelName: PrivateSentinels.NAME, redisPrefix: uniquePrefix() },
    channels: Array.from({ length: 100 }, (_, i) => `stream-${i}`),
    fail: () => sentinels.kill(primary),
  });
  t.diagnostic(JSON.stringify(outcome));
  assert.equal(await sentinels.primary(), sentinels.dataPorts.find((port) => port !== primary), 'the replica was promoted');
  assert.ok(outcome.accepted > 0);
});
