import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { includedBlocks, repoFile } from './support/deploy-files.ts';
import { postJson, spawnHerald, uniquePrefix, type HeraldProcess } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

const RULES = 'deploy/prometheus-alerts.yml';
const DASHBOARD = 'deploy/grafana-dashboard.json';

interface DashboardPanel {
  id: number;
  title: string;
  type: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets: { refId: string; expr: string }[];
}

/** Metric families in a scrape, by name, with their type (`# TYPE name type`). */
function families(scrape: string): Map<string, string> {
  return new Map([...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The family a sample name belongs to: histograms export `_bucket`, `_count` and `_sum`. */
function familyOf(name: string, known: Map<string, string>): string {
  const base = name.replace(/_(bucket|count|sum)$/, '');
  return known.get(base) === 'histogram' ? base : name;
}

describe('docs/operations.md and the alert rules', () => {
  let server: HeraldProcess;
  before(async () => {
    server = await spawnHerald({ REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', HERALD_REDIS_PREFIX: uniquePrefix(), HERALD_NAMESPACES: '{"chat": {}}', HERALD_DEMOS: 'false' }); // no clock to add publications to the counts
  });
  after(async () => {
    await server.stop();
  });

  test('shows deploy/prometheus-alerts.yml verbatim', async () => {
    const blocks = await includedBlocks('docs/operations.md');
    assert.deepEqual([...blocks.keys()], [RULES]);
    assert.equal(blocks.get(RULES), await repoFile(RULES));
  });

  test('every metric the rules and the doc name exists in a real /metrics scrape', async () => {
    const known = families(await (await fetch(`${server.url}/metrics`)).text());
    const inRules = new Set([...(await repoFile(RULES)).matchAll(/\bherald_[a-z_]+/g)].map((m) => m[0]));
    const inDoc = new Set([...(await repoFile('docs/operations.md')).matchAll(/^\| `(herald_[a-z_]+)/gm)].map((m) => m[1]!));
    assert.ok(inRules.size >= 8 && inDoc.size >= 13, `${inRules.size} names in the rules, ${inDoc.size} in the doc`);
    const missing = [...inRules, ...inDoc].filter((name) => !known.has(familyOf(name, known)));
    assert.deepEqual(missing, []);
    // And the doc lists every herald_ family the server exports.
    assert.deepEqual([...known.keys()].filter((name) => name.startsWith('herald_') && !inDoc.has(name)), []);
  });

  test('deploy/grafana-dashboard.json is a dashboard whose every query names exported metrics', async () => {
    const dashboard = JSON.parse(await repoFile(DASHBOARD)) as { title: string; uid: string; schemaVersion: number; panels: DashboardPanel[] };
    assert.equal(dashboard.title, 'Herald');
    assert.equal(typeof dashboard.uid, 'string');
    assert.ok(dashboard.schemaVersion >= 30);
    assert.ok(Array.isArray(dashboard.panels) && dashboard.panels.length >= 8);
    assert.equal(new Set(dashboard.panels.map((panel) => panel.id)).size, dashboard.panels.length, 'panel ids are unique');
    for (const panel of dashboard.panels) {
      assert.equal(panel.type, 'timeseries', panel.title);
      assert.ok(panel.title.length > 0 && panel.gridPos.w > 0 && panel.gridPos.h > 0, panel.title);
      assert.ok(panel.targets.length > 0, `${panel.title} has no query`);
      for (const target of panel.targets) assert.match(target.expr, /\bherald_[a-z_]+/, `${panel.title} ${target.refId}`);
    }
    const known = families(await (await fetch(`${server.url}/metrics`)).text());
    const named = new Set(dashboard.panels.flatMap((panel) => panel.targets.flatMap((target) => [...target.expr.matchAll(/\bherald_[a-z_]+/g)].map((m) => m[0]))));
    assert.deepEqual([...named].filter((name) => !known.has(familyOf(name, known))), []);
    // The metrics the operations doc asks operators to watch each have a panel.
    for (const name of ['herald_connections', 'herald_deliveries_total', 'herald_publish_duration_seconds_bucket', 'herald_canary_round_trip_seconds_bucket', 'herald_event_loop_delay_seconds', 'herald_refusals_total', 'herald_task_queue_depth', 'herald_task_failures_total']) {
      assert.ok(named.has(name), `no panel queries ${name}`);
    }
    assert.match(await repoFile('docs/operations.md'), /`deploy\/grafana-dashboard\.json`/);
  });

  test('publications and subscriptions count by namespace: declared names, "" and other', async () => {
    const client = new TestClient(`${server.wsUrl}/ws/chat:room`);
    await client.opened;
    try {
      for (const channel of ['news', 'chat:room', 'undeclared:1', 'undeclared:2']) {
        assert.equal((await postJson(`${server.url}/api/publish`, { channel, data: 1 })).status, 200);
      }
      const scrape = await (await fetch(`${server.url}/metrics`)).text();
      const samples = (name: string) => [...scrape.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => `${m[1] ?? ''} ${m[2]}`).sort();
      assert.deepEqual(samples('herald_namespace_publications_total'), ['{namespace=""} 1', '{namespace="chat"} 1', '{namespace="other"} 2']);
      assert.deepEqual(samples('herald_namespace_subscriptions'), ['{namespace="chat"} 1']);
      assert.deepEqual(samples('herald_publish_duration_seconds_count'), [' 4']);
      assert.deepEqual(samples('herald_task_queue_depth'), ['{state="running"} 0', '{state="waiting"} 0']);
      assert.deepEqual(samples('herald_task_failures_total'), [' 0']);
      assert.match(scrape, /^herald_event_loop_delay_seconds \d/m);
      // One observation per 10 ms sample, from the same monitor as the gauge.
      assert.match(scrape, /^herald_event_loop_delay_histogram_seconds_bucket\{le="0.001"\} \d/m);
      assert.ok(Number(/^herald_event_loop_delay_histogram_seconds_count (\d+)/m.exec(scrape)?.[1]) > 0);
    } finally {
      client.ws.close();
    }
  });
});
