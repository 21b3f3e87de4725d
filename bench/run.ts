/**
 * `npm run bench`: Herald against the raw `ws` floor and Socket.IO, on this machine, in one run.
 * See docs/benchmarks.md for what each scenario measures and how to read the results.
 *
 *   npm run bench                       # everything, medians of 3 (about 45 minutes)
 *   npm run bench -- --quick            # smaller and shorter, 1 repeat, no /connect or Pusher (under 3 minutes)
 *   npm run bench -- --only=fanout1,idle --targets=floor,herald
 *   npm run bench -- --redis-url=redis://127.0.0.1:6379   # use an existing Redis
 *   npm run bench -- --quick --only=fanout1 --targets=herald --profile   # CPU profiles of Herald
 *   npm run bench -- --only=many-cluster,scale-cluster   # one Redis vs the bench's 3-primary Redis Cluster
 *   npm run bench -- --only=capacity    # 200,000 connections over 12 processes on the cluster (docs/scaling.md)
 *   npm run bench -- --only=capacity --capacity-connections=100000 --capacity-processes=6
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { LOAD_CPU, ROOT } from './lib/children.ts';
import { startBenchRedis } from './lib/redis-server.ts';
import { renderChart, type ChartPanel } from './report/chart.ts';
import { fanOut, type FanOutResult } from './scenarios/fan-out.ts';
import { idleConnections, type IdleResult } from './scenarios/idle-connections.ts';
import { manyChannels, type ManyChannelsResult } from './scenarios/many-channels.ts';
import { perUserChannels, type PerUserChannelsResult } from './scenarios/per-user-channels.ts';
import type { ClimbStep } from './scenarios/climb.ts';
import { scale, type ScaleResult } from './scenarios/scale.ts';
import { startBenchRedisCluster, type BenchRedisCluster } from './lib/bench-redis-cluster.ts';
import { capacity, capacityTable, type CapacityResult } from './scenarios/capacity.ts';
import { clusterManyChannels, clusterManyTable, type ClusterManyResult } from './scenarios/cluster-many-channels.ts';
import { TARGETS, type TargetName } from './targets/targets.ts';

const SCENARIOS = ['fanout1', 'fanout2', 'idle', 'many', 'peruser', 'scale', 'many-cluster', 'scale-cluster', 'capacity'] as const;
/** Long and machine-filling: run only when named in --only. */
const ON_REQUEST: readonly string[] = ['capacity'];
type Scenario = (typeof SCENARIOS)[number];

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key!, value ?? 'true'];
  }),
);
for (const key of args.keys()) {
  if (!['quick', 'only', 'targets', 'redis-url', 'repeats', 'profile', 'help', 'capacity-connections', 'capacity-processes'].includes(key)) {
    console.error(`bench: unknown option --${key} (see bench/run.ts)`);
    process.exit(2);
  }
}
if (args.has('help')) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
  process.exit(0);
}
const quick = args.has('quick');
// The bench itself (reading reports, /proc and Redis between and during steps) runs beside the load
// generators, not on the servers' CPU: there it would take the CPU from the server under test at
// moments that differ from one target to the next. All its threads, the ones started later included.
execFileSync('taskset', ['-a', '-c', '-p', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
if (args.has('profile')) {
  process.env.BENCH_PROFILE_DIR = join(ROOT, 'bench', 'results', 'profiles');
  mkdirSync(process.env.BENCH_PROFILE_DIR, { recursive: true });
}
const only = new Set((args.get('only')?.split(',') ?? SCENARIOS.filter((s) => !ON_REQUEST.includes(s))) as Scenario[]);
for (const s of only) if (!SCENARIOS.includes(s)) throw new Error(`--only: unknown scenario ${s} (${SCENARIOS.join(', ')})`);
const targetFilter = args.get('targets')?.split(',') as TargetName[] | undefined;
const repeats = Number(args.get('repeats') ?? (quick ? 1 : 3));
const wanted = (names: TargetName[]): TargetName[] => names.filter((n) => targetFilter === undefined || targetFilter.includes(n));

// The fan-out climb in publications/s (1,000 subscribers turn each into 1,000 deliveries): doubling
// from `startRate`, then bisecting.
// --quick skips the latency bisection (one round moves too much with the load for it to mean much)
// and the retries of failed steps (they are shown, but never change a verdict), to stay under 3 minutes.
const CLIMB = { startRate: 50, maxRate: quick ? 1600 : 6400, bisections: quick ? 1 : 3, latencyBisections: quick ? 0 : 3, attempts: quick ? 1 : 2, retryPauseMs: 1000 };
const config = {
  fanout1: { targets: wanted(quick ? ['floor', 'socketio', 'herald'] : ['floor', 'socketio', 'herald', 'herald-connect', 'herald-pusher']), processes: 1, subscribers: 1000, stepMs: quick ? 1000 : 2000, ...CLIMB, fixedRates: [50, 200], repeats },
  fanout2: { targets: wanted(quick ? ['floor-redis', 'herald-redis'] : ['floor-redis', 'socketio', 'herald-redis']), processes: 2, subscribers: 1000, stepMs: quick ? 1000 : 2000, ...CLIMB, fixedRates: [50, 200], repeats },
  idle: { targets: wanted(quick ? ['floor', 'socketio', 'herald'] : ['floor', 'socketio', 'herald', 'herald-connect']), steps: quick ? [2000, 4000] : [10_000, 19_000], warmUp: quick ? 1000 : 2000, settleMs: quick ? 1000 : 3000 },
  many: { targets: wanted(quick ? ['floor-redis', 'herald-redis'] : ['floor-redis', 'socketio', 'herald-redis']), channels: quick ? 2000 : 10_000, durationMs: quick ? 3000 : 10_000 },
  // Rates per channel: 1/s first (the figures the targets are stated at), then the climb from 1/s.
  peruser: {
    // --quick runs the Redis pair unless --targets names others.
    targets: wanted(quick && targetFilter === undefined ? ['floor-redis', 'herald-redis'] : ['floor', 'floor-redis', 'socketio', 'herald', 'herald-redis', 'herald-connect']),
    sockets: quick ? 1000 : 5000,
    stepMs: quick ? 1000 : 2000,
    fixedRatePerChannel: 1,
    fixedStepMs: quick ? 2000 : 10_000,
    startRate: 1,
    maxRate: quick ? 16 : 64,
    bisections: quick ? 1 : 3,
    latencyBisections: quick ? 0 : 2,
    attempts: quick ? 1 : 2,
    retryPauseMs: 1000,
    repeats,
  },
  scale: { targets: wanted(['herald-redis']), connections: quick ? 10_000 : 100_000, processes: quick ? 2 : 6, publications: quick ? 1 : 3 },
  manyCluster: { channels: quick ? 2000 : 10_000, durationMs: quick ? 2000 : 5000, idleMs: quick ? 1000 : 3000, rates: quick ? [2000] : [2500, 5000, 7500, 10_000, 12_500, 15_000] },
  scaleCluster: { connections: quick ? 10_000 : 100_000, processes: quick ? 2 : 6, publications: quick ? 1 : 3 },
  capacity: { connections: Number(args.get('capacity-connections') ?? 200_000), processes: Number(args.get('capacity-processes') ?? 12), publications: 3 },
};

interface Results {
  date: string;
  command: string;
  quick: boolean;
  environment: Record<string, string>;
  config: typeof config;
  fanOut1: FanOutResult[];
  fanOut2: FanOutResult[];
  idle: IdleResult[];
  manyChannels: ManyChannelsResult[];
  perUser: PerUserChannelsResult[];
  scale: ScaleResult[];
  manyCluster: ClusterManyResult[];
  scaleCluster: ScaleResult[];
  capacity: CapacityResult[];
  checks: Check[];
  errors: Array<{ scenario: string; message: string }>;
  /** Wall time of each scenario that ran, in seconds. */
  secondsPerScenario: Partial<Record<Scenario, number>>;
}

interface Check {
  target: string;
  measured: string;
  /** Undefined when the baseline itself measured 0 (nothing sustained: the machine was too busy). */
  pass: boolean | undefined;
}

const log = (line: string): void => console.log(line);
const started = Date.now();
const date = new Date().toISOString().slice(0, 10);
const results: Results = {
  date: new Date().toISOString(),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  quick,
  environment: environment(),
  config,
  fanOut1: [],
  fanOut2: [],
  idle: [],
  manyChannels: [],
  perUser: [],
  scale: [],
  manyCluster: [],
  scaleCluster: [],
  capacity: [],
  checks: [],
  errors: [],
  secondsPerScenario: {},
};

const redis = await startBenchRedis(args.get('redis-url'));
let cluster: BenchRedisCluster | undefined;
const benchCluster = async (): Promise<BenchRedisCluster> => (cluster ??= await startBenchRedisCluster());
/** Runs one scenario; a failure is reported and recorded, and the other scenarios still run. */
async function scenario(name: Scenario, title: string, run: () => Promise<void>): Promise<void> {
  if (!only.has(name)) return;
  log(`\n## ${title}`);
  const started = Date.now();
  try {
    await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`  ${name} failed: ${message}`);
    results.errors.push({ scenario: name, message });
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  results.secondsPerScenario[name] = seconds;
  log(`  (${name}: ${seconds} s)`);
}
try {
  await scenario('fanout1', `Fan-out, one process: 1 channel, ${config.fanout1.subscribers} subscribers`, async () => {
    results.fanOut1 = await fanOut(config.fanout1.targets.map((name) => TARGETS[name]), { ...config.fanout1, redis }, log);
  });
  await scenario('fanout2', `Fan-out, two processes through Redis: ${config.fanout2.subscribers} subscribers split between them`, async () => {
    results.fanOut2 = await fanOut(config.fanout2.targets.map((name) => TARGETS[name]), { ...config.fanout2, redis }, log);
  });
  await scenario('idle', `Idle connections, one process: ${config.idle.steps.join(' then ')}`, async () => {
    for (const name of config.idle.targets) results.idle.push(await idleConnections(TARGETS[name], { ...config.idle, redisUrl: redis.url }, log));
  });
  await scenario('many', `Many channels: ${config.many.channels} sockets, each on its own channel, 1 publication per channel per second over HTTP`, async () => {
    for (const name of config.many.targets) results.manyChannels.push(await manyChannels(TARGETS[name], { channels: config.many.channels, durationMs: config.many.durationMs, redis }, log));
  });
  await scenario('peruser', `Per-user channels, published from the sockets: ${config.peruser.sockets} sockets, each on its own channel, each publishing on it`, async () => {
    results.perUser = await perUserChannels(config.peruser.targets.map((name) => TARGETS[name]), { ...config.peruser, redis }, log);
  });
  await scenario('scale', `Scale: ${config.scale.connections} idle connections over ${config.scale.processes} processes sharing Redis`, async () => {
    for (const name of config.scale.targets) results.scale.push(await scale(TARGETS[name], { ...config.scale, redis }, log));
  });
  await scenario('many-cluster', `Many channels, one Redis vs a 3-primary Redis Cluster: ${config.manyCluster.channels} sockets, rates ${config.manyCluster.rates.join(', ')}/s`, async () => {
    results.manyCluster = await clusterManyChannels({ ...config.manyCluster, redisUrl: redis.url, cluster: await benchCluster() }, log);
  });
  await scenario('scale-cluster', `Scale on the cluster: ${config.scaleCluster.connections} idle connections over ${config.scaleCluster.processes} processes`, async () => {
    results.scaleCluster.push(await scale(TARGETS['herald-cluster'], { ...config.scaleCluster, redis, clusterNodes: (await benchCluster()).nodes }, log));
  });
  await scenario('capacity', `Capacity check: ${config.capacity.connections} connections over ${config.capacity.processes} processes on the cluster`, async () => {
    results.capacity.push(await capacity({ ...config.capacity, redisUrl: redis.url, cluster: await benchCluster() }, log));
  });
} finally {
  await redis.close();
  await cluster?.close();
}

results.environment.loadAverageAtEnd = readFileSync('/proc/loadavg', 'utf8').trim();
results.checks = checks(results);
const markdown = tables(results);
console.log(`\n${markdown}`);
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const base = join(dir, `${date}${quick ? '-quick' : ''}${SCENARIOS.some((x) => !ON_REQUEST.includes(x) && !only.has(x)) || targetFilter ? '-partial' : ''}`);
writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${base}.md`, markdown);
writeFileSync(`${base}.svg`, chart(results));
console.log(`\nWrote ${base}.json, .md and .svg in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(0);

// ---------------------------------------------------------------------------------------------

function environment(): Record<string, string> {
  const version = (name: string): string => {
    try {
      return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return 'not installed';
    }
  };
  const run = (command: string, commandArgs: string[]): string => {
    try {
      return execFileSync(command, commandArgs, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at start)`,
    kernel: release(),
    node: process.version,
    openFileLimit: run('sh', ['-c', 'ulimit -Hn']),
    redis: run('redis-server', ['--version']).replace(/^Redis server /, ''),
    herald: `${run('git', ['rev-parse', '--short', 'HEAD'])}${run('git', ['status', '--porcelain', 'src']) === '' ? '' : ' (with uncommitted changes in src/)'}`,
    ws: version('ws'),
    'socket.io': version('socket.io'),
    '@socket.io/redis-adapter': version('@socket.io/redis-adapter'),
    ioredis: version('ioredis'),
    fastify: version('fastify'),
    pinning: 'servers on CPU 0, load generators and Redis on CPU 1 (taskset)',
    loadAverageAtStart: run('cat', ['/proc/loadavg']),
  };
}

function byTarget<T extends { target: string }>(list: T[], name: string): T | undefined {
  return list.find((r) => r.target === name);
}
function ratio(value: number, base: number | undefined): string {
  return base === undefined || !(base > 0) || !Number.isFinite(value) ? '—' : `${(value / base).toFixed(2)}×`;
}
function n(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}
function ms(value: number): string {
  return Number.isFinite(value) ? `${value} ms` : 'n/a';
}
function us(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : `${Math.round(value * 10) / 10} µs`;
}
function num(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : String(Math.round(value * 10) / 10);
}
function msOpt(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : `${Math.round(value * 100) / 100} ms`;
}
function attemptSummary(step: ClimbStep['first']): string {
  return (
    `${ms(step.p99Ms)} / ${ms(step.maxMs)}, lost ${step.lost}${step.publisherBehind ? ', publisher behind' : ''}, loop ${msOpt(step.loopDelayMaxMs)}` +
    (step.gcMaxMs === undefined ? '' : `, GC ${msOpt(step.gcMaxMs)}, preempted ${step.preempted}×`)
  );
}
/** What a per-user target is compared with: the floor through the same kind of broker. */
function perUserBaseline(target: string): TargetName {
  return TARGETS[target as TargetName].redis ? 'floor-redis' : 'floor';
}
function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

function checks(r: Results): Check[] {
  const out: Check[] = [];
  const f1 = (name: string) => byTarget(r.fanOut1, name)?.maxDeliveriesPerSec;
  if (f1('herald') !== undefined && f1('floor') !== undefined) {
    out.push({ target: 'one process: Herald max ≥ 0.9 × floor', measured: `${n(f1('herald')!)} vs ${n(f1('floor')!)} (${ratio(f1('herald')!, f1('floor'))})`, pass: f1('herald')! >= 0.9 * f1('floor')! });
  }
  const l1 = (name: string) => byTarget(r.fanOut1, name)?.maxWithoutLossPerSec;
  if (l1('herald') !== undefined && l1('floor') !== undefined) {
    out.push({ target: '(also) one process: Herald max without loss ≥ 0.8 × floor', measured: `${n(l1('herald')!)} vs ${n(l1('floor')!)} (${ratio(l1('herald')!, l1('floor'))})`, pass: l1('herald')! >= 0.8 * l1('floor')! });
  }
  if (f1('herald') !== undefined && f1('socketio') !== undefined) {
    out.push({ target: 'one process: Herald max ≥ 8 × Socket.IO', measured: `${n(f1('herald')!)} vs ${n(f1('socketio')!)} (${ratio(f1('herald')!, f1('socketio'))})`, pass: f1('herald')! >= 8 * f1('socketio')! });
  }
  const h2 = byTarget(r.fanOut2, 'herald-redis');
  const f2 = byTarget(r.fanOut2, 'floor-redis');
  if (h2 && f2) {
    out.push({ target: 'two processes: Herald max ≥ 0.9 × floor via Redis', measured: `${n(h2.maxDeliveriesPerSec)} vs ${n(f2.maxDeliveriesPerSec)} (${ratio(h2.maxDeliveriesPerSec, f2.maxDeliveriesPerSec)})`, pass: h2.maxDeliveriesPerSec >= 0.9 * f2.maxDeliveriesPerSec });
    out.push({ target: '(also) two processes: Herald max without loss ≥ 0.8 × floor via Redis', measured: `${n(h2.maxWithoutLossPerSec)} vs ${n(f2.maxWithoutLossPerSec)} (${ratio(h2.maxWithoutLossPerSec, f2.maxWithoutLossPerSec)})`, pass: h2.maxWithoutLossPerSec >= 0.8 * f2.maxWithoutLossPerSec });
    const hp = h2.fixed.find((x) => x.rate === 50)!.p99Ms;
    const fp = f2.fixed.find((x) => x.rate === 50)!.p99Ms;
    out.push({ target: 'two processes: Herald p99 at 50/s ≤ 1.5 × floor via Redis', measured: `${ms(hp)} vs ${ms(fp)} (${ratio(hp, fp)})`, pass: hp <= 1.5 * fp });
  }
  // p99 at 50 publications/s in every round, not only the median: a stall that comes back once in
  // three rounds is what the median hides.
  for (const [list, herald, floor, label] of [[r.fanOut1, 'herald', 'floor', 'one process'], [r.fanOut2, 'herald-redis', 'floor-redis', 'two processes']] as const) {
    const h = byTarget(list, herald);
    const f = byTarget(list, floor);
    if (h === undefined || f === undefined) continue;
    const pairs = h.runs.map((run, i) => [run.fixed[0]!.p99Ms, f.runs[i]?.fixed[0]?.p99Ms ?? Number.NaN] as const);
    out.push({
      target: `${label}: Herald p99 at ${h.fixed[0]!.rate}/s ≤ 1.5 × ${floor === 'floor' ? 'floor' : 'floor via Redis'} in every round`,
      measured: pairs.map(([hp, fp]) => `${ms(hp)} vs ${ms(fp)} (${ratio(hp, fp)})`).join('; '),
      pass: pairs.every(([hp, fp]) => hp <= 1.5 * fp),
    });
  }
  const hi = byTarget(r.idle, 'herald');
  const fi = byTarget(r.idle, 'floor');
  if (hi && fi) {
    const h = hi.points.at(-1)!.bytesPerConnection;
    const f = fi.points.at(-1)!.bytesPerConnection;
    out.push({ target: 'idle: memory per connection ≤ 1.2 × floor', measured: `${kib(h)} vs ${kib(f)} at ${n(hi.points.at(-1)!.connections)} (${ratio(h, f)})`, pass: h <= 1.2 * f });
    out.push({ target: 'idle: connections accepted/s ≥ 0.8 × floor', measured: `${n(hi.acceptPerSec)} vs ${n(fi.acceptPerSec)} (${ratio(hi.acceptPerSec, fi.acceptPerSec)})`, pass: hi.acceptPerSec >= 0.8 * fi.acceptPerSec });
  }
  const sc = byTarget(r.scale, 'herald-redis');
  if (sc) {
    const lost = Math.max(...sc.publications.map((p) => p.lost));
    out.push({ target: `scale: ${n(r.config.scale.connections)} idle connections, nothing lost`, measured: `${n(sc.connections)} connected, ${n(sc.open)} still open, lost ${lost}`, pass: sc.connections >= r.config.scale.connections && sc.open >= r.config.scale.connections && lost === 0 });
  }
  const hm = byTarget(r.manyChannels, 'herald-redis');
  const fm = byTarget(r.manyChannels, 'floor-redis');
  if (hm && fm) {
    out.push({ target: 'many channels: Herald ≥ floor via Redis, nothing lost', measured: `${n(hm.step.deliveriesPerSec)} vs ${n(fm.step.deliveriesPerSec)} deliveries/s, lost ${hm.step.lost}`, pass: hm.step.deliveriesPerSec >= fm.step.deliveriesPerSec * 0.98 && hm.step.lost === 0 && hm.step.publishErrors === 0 });
  }
  if (hm) {
    const [join, leave, last, first] = hm.churn;
    const tenth = join!.sockets;
    // Counted from the channels in Redis after the first step: the target may hold channels of its own there (Herald's `#admin`).
    const exact = join!.subscribeCommands === 0 && leave!.unsubscribeCommands === 0 && last!.subscribeCommands === 0 && first!.unsubscribeCommands === 0 && last!.redisChannels === join!.redisChannels - tenth && first!.redisChannels === join!.redisChannels;
    out.push({ target: 'many channels: Redis SUBSCRIBE/UNSUBSCRIBE only on first/last local subscriber', measured: hm.churn.map((c) => `${c.step}: ${c.subscribeCommands}/${c.unsubscribeCommands}`).join('; '), pass: exact });
  }
  const pu = (name: string) => byTarget(r.perUser, name);
  for (const [herald, floor, label] of [['herald', 'floor', 'floor'], ['herald-redis', 'floor-redis', 'floor via Redis']] as const) {
    const h = pu(herald);
    const f = pu(floor);
    if (h === undefined || f === undefined) continue;
    const redisNote = herald === 'herald-redis' ? ', Redis' : ', embedded broker';
    const hc = h.fixed.serverCpuMicrosPerPublication;
    const fc = f.fixed.serverCpuMicrosPerPublication;
    out.push({ target: `per-user channels${redisNote}: server CPU per message ≤ 1.2 × ${label}`, measured: `${us(hc)} vs ${us(fc)} (${ratio(hc, fc)})`, pass: hc <= 1.2 * fc });
    if (herald === 'herald-redis') {
      const hr = h.fixed.redisCpuMicrosPerPublication;
      const fr = f.fixed.redisCpuMicrosPerPublication;
      if (hr !== undefined && fr !== undefined) out.push({ target: `per-user channels, Redis: Redis CPU per message ≤ 2 × ${label}`, measured: `${us(hr)} vs ${us(fr)} (${ratio(hr, fr)})`, pass: hr <= 2 * fr });
    }
    out.push({ target: `per-user channels${redisNote}: max rate ≥ 0.8 × ${label}`, measured: `${h.maxRatePerChannel}/s vs ${f.maxRatePerChannel}/s per channel (${ratio(h.maxRatePerChannel, f.maxRatePerChannel)})`, pass: h.maxRatePerChannel >= 0.8 * f.maxRatePerChannel });
  }
  // A comparison with a baseline of 0 proves nothing either way.
  for (const c of out) if (/ vs 0[ /]/.test(c.measured) || / vs 0 ms/.test(c.measured) || / vs — /.test(c.measured)) c.pass = undefined;
  return out;
}

function tables(r: Results): string {
  const lines: string[] = [];
  const push = (...rows: string[]): void => {
    lines.push(...rows);
  };
  push(`Run of ${r.date} (${r.quick ? 'quick' : 'full'}; medians of ${r.config.fanout1.repeats}) with \`${r.command}\``, '');
  if (r.fanOut1.length > 0) {
    const floor = byTarget(r.fanOut1, 'floor')?.maxDeliveriesPerSec;
    push('### Fan-out, one process (1 channel, 1,000 subscribers)', '');
    const floorNoLoss = byTarget(r.fanOut1, 'floor')?.maxWithoutLossPerSec;
    push('| target | max deliveries/s (p99 < 50 ms) | × floor | max deliveries/s without loss | × floor | p50 / p99 at 50 pub/s | p50 / p99 at 200 pub/s | server CPU per delivery at 200 pub/s | Redis CPU per publication at 200 pub/s | event-loop delay p99 at 50 pub/s |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const f of r.fanOut1) {
      const [a, b] = [f.fixed.find((x) => x.rate === 50)!, f.fixed.find((x) => x.rate === 200)!];
      push(`| ${TARGETS[f.target as TargetName].label} | ${n(f.maxDeliveriesPerSec)} | ${ratio(f.maxDeliveriesPerSec, floor)} | ${n(f.maxWithoutLossPerSec)} | ${ratio(f.maxWithoutLossPerSec, floorNoLoss)} | ${ms(a.p50Ms)} / ${ms(a.p99Ms)} | ${ms(b.p50Ms)} / ${ms(b.p99Ms)}${b.lost > 0 ? ` (lost ${b.lost})` : ''} | ${b.cpuMicrosPerDelivery} µs | ${us(b.redisCpuMicrosPerPublication)} | ${msOpt(a.loopDelayP99Ms)} |`);
    }
    push('');
  }
  if (r.fanOut2.length > 0) {
    const floor = byTarget(r.fanOut2, 'floor-redis')?.maxDeliveriesPerSec;
    push('### Fan-out, two processes through Redis (500 subscribers on each, publisher on the first)', '');
    const floorNoLoss = byTarget(r.fanOut2, 'floor-redis')?.maxWithoutLossPerSec;
    push('| target | max deliveries/s (p99 < 50 ms) | × floor via Redis | max deliveries/s without loss | × floor via Redis | p50 / p99 at 50 pub/s | p50 / p99 at 200 pub/s | server CPU per delivery at 200 pub/s | server CPU per publication at 200 pub/s | Redis CPU per publication at 200 pub/s | Redis commands per publication | event-loop delay p99 at 50 pub/s |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const f of r.fanOut2) {
      const [a, b] = [f.fixed.find((x) => x.rate === 50)!, f.fixed.find((x) => x.rate === 200)!];
      push(`| ${TARGETS[f.target as TargetName].label} | ${n(f.maxDeliveriesPerSec)} | ${ratio(f.maxDeliveriesPerSec, floor)} | ${n(f.maxWithoutLossPerSec)} | ${ratio(f.maxWithoutLossPerSec, floorNoLoss)} | ${ms(a.p50Ms)} / ${ms(a.p99Ms)} | ${ms(b.p50Ms)} / ${ms(b.p99Ms)}${b.lost > 0 ? ` (lost ${b.lost})` : ''} | ${b.cpuMicrosPerDelivery} µs | ${us(b.cpuMicrosPerPublication)} | ${us(b.redisCpuMicrosPerPublication)} | ${num(b.redisCommandsPerPublication)} | ${msOpt(a.loopDelayP99Ms)} |`);
    }
    push('');
  }
  if (r.idle.length > 0) {
    const floor = byTarget(r.idle, 'floor');
    const steps = r.config.idle.steps;
    push('### Idle connections, one process', '');
    push(`| target | ${steps.map((s) => `memory per connection at ${n(s)}`).join(' | ')} | × floor | added per connection ${n(steps[0]!)} → ${n(steps.at(-1)!)} | accepted/s | × floor | server CPU per accept |`, `|---|${steps.map(() => '---:').join('|')}|---:|---:|---:|---:|---:|`);
    for (const i of r.idle) {
      push(`| ${TARGETS[i.target as TargetName].label} | ${i.points.map((p) => kib(p.bytesPerConnection)).join(' | ')} | ${ratio(i.points.at(-1)!.bytesPerConnection, floor?.points.at(-1)!.bytesPerConnection)} | ${kib(i.points.at(-1)!.marginalBytesPerConnection)} | ${n(i.acceptPerSec)} | ${ratio(i.acceptPerSec, floor?.acceptPerSec)} | ${i.cpuMicrosPerAccept} µs |`);
    }
    push('');
  }
  if (r.manyChannels.length > 0) {
    const floor = byTarget(r.manyChannels, 'floor-redis')?.step.deliveriesPerSec;
    push(`### Many channels (${n(r.config.many.channels)} sockets, one channel each, ${n(r.config.many.channels)} publications/s over HTTP, one process + Redis)`, '');
    push('| target | deliveries/s | × floor via Redis | p50 / p99 | lost | HTTP errors | server CPU per publication | Redis CPU per publication | Redis commands per publication | event-loop delay p99 / max |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const m of r.manyChannels) {
      push(`| ${TARGETS[m.target as TargetName].label} | ${n(m.step.deliveriesPerSec)} | ${ratio(m.step.deliveriesPerSec, floor)} | ${ms(m.step.p50Ms)} / ${ms(m.step.p99Ms)} | ${m.step.lost} | ${m.step.publishErrors} | ${m.step.serverCpuMicrosPerDelivery} µs | ${us(m.step.redisCpuMicrosPerPublication)} | ${num(m.step.redisCommandsPerPublication)} | ${msOpt(m.step.loopDelayP99Ms)} / ${msOpt(m.step.loopDelayMaxMs)} |`);
    }
    push('', 'Redis commands when sockets come and go (SUBSCRIBE / UNSUBSCRIBE commands; channels of the target in Redis afterwards):', '');
    const churnSteps = r.manyChannels[0]!.churn.map((c) => `${c.step} (${n(c.sockets)} sockets)`);
    push(`| target | ${churnSteps.join(' | ')} |`, `|---|${churnSteps.map(() => '---:').join('|')}|`);
    for (const m of r.manyChannels) {
      push(`| ${TARGETS[m.target as TargetName].label} | ${m.churn.map((c) => `${c.subscribeCommands} / ${c.unsubscribeCommands}; ${n(c.redisChannels)} ch.`).join(' | ')} |`);
    }
    push('');
  }
  if (r.perUser.length > 0) {
    const c = r.config.peruser;
    push(`### Per-user channels, published from the sockets (${n(c.sockets)} sockets, each on its own channel and publishing on it; one process)`, '');
    push(
      `| target | max per channel (p99 < 50 ms) | deliveries/s | × baseline | max per channel without loss | p50 / p99 at ${c.fixedRatePerChannel}/s per channel | server CPU per message | × baseline | Redis CPU per message | × baseline | Redis commands per message | event-loop delay p99 / max |`,
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const u of r.perUser) {
      const base = byTarget(r.perUser, perUserBaseline(u.target));
      const f = u.fixed;
      push(
        `| ${TARGETS[u.target as TargetName].label} | ${u.maxRatePerChannel}/s | ${n(u.maxDeliveriesPerSec)} | ${ratio(u.maxDeliveriesPerSec, base?.maxDeliveriesPerSec)} | ${u.maxRatePerChannelWithoutLoss}/s | ${ms(f.p50Ms)} / ${ms(f.p99Ms)}${f.lost > 0 ? ` (lost ${f.lost})` : ''} | ${us(f.serverCpuMicrosPerPublication)} | ${ratio(f.serverCpuMicrosPerPublication, base?.fixed.serverCpuMicrosPerPublication)} | ${us(f.redisCpuMicrosPerPublication)} | ${f.redisCpuMicrosPerPublication === undefined ? '—' : ratio(f.redisCpuMicrosPerPublication, base?.fixed.redisCpuMicrosPerPublication)} | ${num(f.redisCommandsPerPublication)} | ${msOpt(f.loopDelayP99Ms)} / ${msOpt(f.loopDelayMaxMs)} |`,
      );
    }
    push('', `Baseline: the floor for targets without Redis, the floor via Redis for those with it. Costs are at ${c.fixedRatePerChannel} message/s per channel; "message" is one publication, delivered once (to the socket that sent it).`, '');
  }
  const failedSteps = [...r.fanOut1.map((f) => ['fan-out, one process', f] as const), ...r.fanOut2.map((f) => ['fan-out, two processes', f] as const)].flatMap(([scenario, f]) =>
    f.runs.flatMap((run, i) => run.steps.filter((s) => !s.sustained).map((s) => ({ scenario, target: f.target, round: i + 1, step: s }))),
  );
  const perUserFailed = r.perUser.flatMap((u) => u.runs.flatMap((run, i) => run.steps.filter((s) => !s.sustained).map((s) => ({ scenario: 'per-user channels', target: u.target, round: i + 1, step: s }))));
  if (failedSteps.length + perUserFailed.length > 0) {
    push('### Climb steps whose first run failed (each counts as failed; retries shown beside it)', '');
    push('| scenario | target | round | rate | first run: p99 / max, lost, event-loop delay max, longest GC pause, times preempted | retries |', '|---|---|---:|---:|---|---|');
    for (const f of [...failedSteps, ...perUserFailed]) {
      push(`| ${f.scenario} | ${TARGETS[f.target as TargetName].label} | ${f.round} | ${f.step.rate}/s | ${attemptSummary(f.step.first)} | ${f.step.retries.map(attemptSummary).join('; ') || '—'} |`);
    }
    push('');
  }
  if (r.scale.length > 0) {
    push('### Scale: idle connections over several processes sharing Redis, then one publication to all', '');
    push('| target | connections | processes | connect time | server memory (all processes) | last socket has it after (each publication) | lost | server CPU per publication (all processes) | Redis CPU per publication | Redis commands per publication |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const s of r.scale) {
      push(`| ${TARGETS[s.target as TargetName].label} | ${n(s.connections)} (${n(s.open)} open at the end) | ${s.processes} | ${s.connectSeconds.toFixed(1)} s | ${(s.serverRssBytes / 2 ** 20).toFixed(0)} MiB | ${s.publications.map((p) => ms(p.lastSocketMs)).join(', ')} | ${s.publications.map((p) => p.lost).join(', ')} | ${s.publications.map((p) => msOpt(p.serverCpuMs)).join(', ')} | ${s.publications.map((p) => msOpt(p.redisCpuMs)).join(', ')} | ${s.publications.map((p) => num(p.redisCommands)).join(', ')} |`);
    }
    push('');
  }
  if (r.manyCluster.length > 0) push(clusterManyTable(r.manyCluster, r.config.manyCluster.channels));
  if (r.scaleCluster.length > 0) {
    push('### Scale on the 3-primary Redis Cluster: idle connections over several processes, then one publication to all', '');
    push('| target | connections | processes | connect time | server memory (all processes) | last socket has it after (each publication) | lost |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const s of r.scaleCluster) {
      push(`| ${TARGETS[s.target as TargetName].label} | ${n(s.connections)} (${n(s.open)} open at the end) | ${s.processes} | ${s.connectSeconds.toFixed(1)} s | ${(s.serverRssBytes / 2 ** 20).toFixed(0)} MiB | ${s.publications.map((p) => ms(p.lastSocketMs)).join(', ')} | ${s.publications.map((p) => p.lost).join(', ')} |`);
    }
    push('');
  }
  if (r.capacity.length > 0) push(capacityTable(r.capacity));
  for (const e of r.errors) push(`**${e.scenario} failed**: ${e.message.split('\n')[0]}`, '');
  if (r.checks.length > 0) {
    push('### Targets', '', '| target | measured | holds |', '|---|---|---|');
    for (const c of r.checks) push(`| ${c.target} | ${c.measured} | ${c.pass === undefined ? 'not measurable' : c.pass ? 'yes' : '**no**'} |`);
    push('');
  }
  return lines.join('\n');
}

function chart(r: Results): string {
  const label = (name: string): string => TARGETS[name as TargetName].label;
  const heraldish = (name: string): boolean => name.startsWith('herald');
  const panels: ChartPanel[] = [];
  const rate = (v: number): string => `${n(v)}/s`;
  if (r.fanOut1.length > 0) panels.push({ title: 'Fan-out, one process: max deliveries/s (p99 < 50 ms, nothing lost)', format: rate, bars: r.fanOut1.map((f) => ({ label: label(f.target), value: f.maxDeliveriesPerSec, highlight: heraldish(f.target) })) });
  if (r.fanOut1.length > 0) panels.push({ title: 'Fan-out, one process: max deliveries/s without loss (p99 < 1 s)', format: rate, bars: r.fanOut1.map((f) => ({ label: label(f.target), value: f.maxWithoutLossPerSec, highlight: heraldish(f.target) })) });
  if (r.fanOut2.length > 0) panels.push({ title: 'Fan-out, two processes through Redis: max deliveries/s (p99 < 50 ms, nothing lost)', format: rate, bars: r.fanOut2.map((f) => ({ label: label(f.target), value: f.maxDeliveriesPerSec, highlight: heraldish(f.target) })) });
  if (r.fanOut2.length > 0) panels.push({ title: 'Fan-out, two processes through Redis: max deliveries/s without loss (p99 < 1 s)', format: rate, bars: r.fanOut2.map((f) => ({ label: label(f.target), value: f.maxWithoutLossPerSec, highlight: heraldish(f.target) })) });
  if (r.idle.length > 0) {
    panels.push({ title: `Memory per idle connection at ${n(r.config.idle.steps.at(-1)!)} (lower is better)`, format: (v) => `${v.toFixed(1)} KiB`, bars: r.idle.map((i) => ({ label: label(i.target), value: i.points.at(-1)!.bytesPerConnection / 1024, highlight: heraldish(i.target) })) });
    panels.push({ title: 'Connections accepted per second', format: rate, bars: r.idle.map((i) => ({ label: label(i.target), value: i.acceptPerSec, highlight: heraldish(i.target) })) });
  }
  if (r.manyChannels.length > 0) panels.push({ title: `Many channels: p99 latency at ${n(r.config.many.channels)} publications/s over HTTP (lower is better)`, format: (v) => `${v} ms`, bars: r.manyChannels.map((m) => ({ label: label(m.target), value: m.step.p99Ms, highlight: heraldish(m.target) })) });
  return renderChart(`Herald benchmarks, ${r.date.slice(0, 10)}${r.quick ? ' (quick)' : ''}`, `${r.environment.cpu}, Node ${r.environment.node}; ${r.environment.pinning}; medians of ${r.config.fanout1.repeats}`, panels);
}

