import assert from 'node:assert/strict';
import { get } from 'node:http';
import WebSocket from 'ws';
import { after, before, describe, test } from 'node:test';
import { runHerald, startHeraldCommand, type HeraldCommand } from './support/cli.ts';
import { ProtocolClient } from './support/protocol-client.ts';
import { REDIS_URL, uniquePrefix, waitFor } from './support/servers.ts';

// `herald serve --workers 2` from dist/: two server processes on one port, on Redis.
const STARTED = /"pid":(\d+),[^\n]*"msg":"Herald on http:\/\/[\d.:]+ \(broker: redis/g;

/** The pids of the server processes that have logged their start, in order. */
function serverPids(output: string): number[] {
  return [...output.matchAll(STARTED)].map((match) => Number(match[1]));
}

/** GET /healthz on a fresh connection: the status, or the error code. */
function healthz(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const request = get(`${url}/healthz`, { agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode!));
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('several server processes on one port', () => {
  let primary: HeraldCommand;
  let url: string;
  before(async () => {
    primary = startHeraldCommand(['serve', '--workers', '2', '--port', '0', '--host', '127.0.0.1', '--no-demos'], {
      env: { REDIS_URL, HERALD_REDIS_PREFIX: uniquePrefix(), HERALD_SHUTDOWN_TIMEOUT_MS: '2000' },
    });
    url = (await primary.waitFor(/"msg":"Herald on (http:\/\/[\d.:]+) \(2 server processes\)"/, 30_000))[1]!;
  });
  after(() => primary.stop('SIGKILL'));

  test('without Redis, more than one worker is refused with exit 2', async () => {
    assert.deepEqual(await runHerald(['serve', '--workers', '2']), {
      code: 2,
      stdout: '',
      stderr: 'herald serve: 2 server processes need Redis to share channels: set REDIS_URL (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS), --redis-url or redisUrl in the configuration file, or run one process\n',
    });
  });

  test('a message published through one process reaches a socket on the other', async () => {
    const clients: ProtocolClient[] = [];
    const processOf = (client: ProtocolClient): string => String(client.welcome.connection).split('.')[0]!;
    // Connections are handed to the processes in turn: a few are enough to have one on each.
    while (clients.length < 10 && new Set(clients.map(processOf)).size < 2) clients.push(await ProtocolClient.open(`${url.replace('http', 'ws')}/connect`));
    const subscriber = clients[0]!;
    const publisher = clients.find((client) => processOf(client) !== processOf(subscriber));
    assert.ok(publisher, 'connections on both processes');
    assert.equal((await subscriber.request({ op: 'subscribe', channel: 'crossing' })).type, 'reply');
    await publisher.request({ op: 'publish', channel: 'crossing', data: 'from the other process' });
    assert.equal((await subscriber.push()).data, 'from the other process');
    await Promise.all(clients.map((client) => client.close()));
  });

  test('a server process that is killed is replaced', async () => {
    const known = serverPids(primary.output());
    const victim = known[0]!;
    process.kill(victim, 'SIGKILL');
    await primary.waitFor(new RegExp(`server process ${victim} exited \\(SIGKILL\\); starting a new one in 0 ms`));
    await waitFor(() => serverPids(primary.output()).length > known.length, 30_000, 'the replacement to listen');
    assert.ok(!known.includes(serverPids(primary.output()).at(-1)!), 'a new process');
    assert.equal(await healthz(url), 200);
  });

  test('SIGHUP replaces every process one at a time; /healthz on the port never refuses a connection', async () => {
    const before = new Set(serverPids(primary.output()));
    let polling = true;
    const results: Array<number | string> = [];
    const poller = (async () => {
      while (polling) results.push(await healthz(url));
    })();
    primary.child.kill('SIGHUP');
    await primary.waitFor(/SIGHUP: server processes replaced/, 60_000);
    polling = false;
    await poller;
    const fresh = serverPids(primary.output()).filter((pid) => !before.has(pid));
    assert.equal(fresh.length, 2, 'two new server processes');
    const failures = results.filter((result) => result !== 200);
    assert.deepEqual(failures, [], `${results.length} polls`);
    assert.ok(results.length > 10, `${results.length} polls during the replacement`);
  });

  test('SIGHUP drains each replaced process: its /connect sockets get the disconnect push and 1001, and all reconnect on the port without a refusal', async () => {
    const SOCKETS = 100;
    const closes: string[] = [];
    const refused: string[] = [];
    const sockets = new Set<WebSocket>();
    let open = 0;
    let stopped = false;
    /** A /connect socket that, like a client, reconnects on the same port at once when it is closed. */
    const connect = (): Promise<void> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/connect`);
        sockets.add(ws);
        let pushed = '';
        ws.on('message', (data) => {
          const frame = JSON.parse(data.toString()) as { type: string; reason?: string; reconnectAfterMs?: number };
          if (frame.type === 'welcome') {
            open++;
            resolve();
          } else if (frame.type === 'disconnect' && frame.reason === 'server shutting down' && typeof frame.reconnectAfterMs === 'number') pushed = 'disconnect, ';
        });
        ws.on('unexpected-response', (_request, response) => {
          refused.push(String(response.statusCode));
          resolve();
        });
        ws.on('error', () => {});
        ws.on('close', (code, reason) => {
          sockets.delete(ws);
          if (stopped) return;
          if (pushed !== '' || code !== 1006) {
            open--;
            closes.push(`${pushed}${code} ${reason.toString()}`);
          }
          void connect();
        });
      });
    await Promise.all(Array.from({ length: SOCKETS }, connect));
    try {
      const replaced = primary.output().match(/SIGHUP: server processes replaced/g)?.length ?? 0;
      primary.child.kill('SIGHUP');
      await waitFor(() => (primary.output().match(/SIGHUP: server processes replaced/g)?.length ?? 0) > replaced, 60_000, 'the replacement');
      await waitFor(() => open === SOCKETS, 20_000, `every socket to be open again (${open})`);
      assert.deepEqual(refused, []);
      assert.ok(closes.length >= SOCKETS, `${closes.length} closes`);
      assert.deepEqual(new Set(closes), new Set(['disconnect, 1001 server shutting down']));
    } finally {
      stopped = true;
      for (const ws of sockets) ws.terminate();
    }
  });

  test('SIGTERM to the primary stops every process and exits 0 within the shutdown timeout', async () => {
    const started = Date.now();
    assert.equal(await primary.stop('SIGTERM'), 0);
    assert.ok(Date.now() - started < 2000 + 2000, `${Date.now() - started} ms`);
    for (const pid of serverPids(primary.output())) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} is gone`);
  });
});
