import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DEMO_ROUTES } from '../src/app/demo-notice.ts';
import { servedUrl, startHeraldCommand, type HeraldCommand } from './support/cli.ts';
import { postJson } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

// `herald serve` with the default app's demos (the default) and with --no-demos, from dist/.
const started: HeraldCommand[] = [];
after(() => Promise.all(started.map((server) => server.stop())));

async function serve(args: string[], env: Record<string, string> = {}): Promise<{ server: HeraldCommand; url: string; ws: string }> {
  const server = startHeraldCommand(['serve', '--port', '0', '--host', '127.0.0.1', ...args], { env: { HERALD_CLOCK_INTERVAL_MS: '100', ...env } });
  started.push(server);
  const url = await servedUrl(server);
  return { server, url, ws: url.replace('http', 'ws') };
}

describe('demos on and off', () => {
  test('with demos on (the default) the log says it is an open demo and lists the open routes', async () => {
    const { server, url, ws } = await serve([]);
    const notice = JSON.parse(server.output().split('\n').find((line) => line.includes('open demo'))!) as { level: number; msg: string };
    assert.equal(notice.level, 40, 'logged as a warning');
    assert.equal(
      notice.msg,
      'The default app is an open demo: no authentication is configured, so anyone may open any route as any user. ' +
        `Demo routes: ${DEMO_ROUTES.join(', ')}; plus /connect, /ws/{channel} and /api/*. Run herald serve --no-demos to serve only the core.`,
    );
    assert.equal((await fetch(`${url}/`)).status, 200);
    const echo = await TestClient.open(`${ws}/echo`);
    echo.ws.send('hi');
    assert.equal(await echo.next(), 'Message text was: hi');
    echo.ws.close();
  });

  test('--no-demos serves only /connect, /ws/{channel}, the HTTP API, health and metrics', async () => {
    const demo = await serve([]);
    const core = await serve(['--no-demos']);
    assert.doesNotMatch(core.server.output(), /open demo/);
    assert.match(core.server.output(), /Herald on http:\/\/127\.0\.0\.1:\d+ \(broker: memory, no demos\)/);

    // The core.
    assert.equal((await fetch(`${core.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${core.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${core.url}/metrics`)).status, 200);
    const channel = await TestClient.open(`${core.ws}/ws/ws_example_channel`);
    const connect = await TestClient.open(`${core.ws}/connect`);
    assert.match(await connect.next(), /^\{"type":"welcome","connection":"[^"]+","user":null,"protocol":1\}$/);
    assert.deepEqual(await postJson(`${core.url}/api/publish`, { channel: 'ws_example_channel', data: 'core' }), { status: 200, body: { ok: true } });
    assert.equal(await channel.next(), 'core');

    // No demo pages, demo routes or example task.
    assert.equal((await fetch(`${core.url}/`)).status, 404);
    assert.equal((await fetch(`${core.url}/chat.html`)).status, 404);
    for (const path of ['/echo', '/echo/timed', '/chat?username=a', '/broadcast/1', '/ws/chat/', '/async_task/', '/connect_chat?user_code=a']) {
      await assert.rejects(TestClient.open(`${core.ws}${path}`), { message: 'handshake refused: 404' }, path);
    }
    assert.equal((await postJson(`${core.url}/create_chat`, { sender: 'a', recipient: 'b', msg: 'hi' })).status, 404);
    const task = await postJson(`${core.url}/api/tasks`, { name: 'example', args: { value: 1 } });
    assert.equal(task.status, 400);
    assert.equal(task.body.error.code, 'HERALD_ERR_UNKNOWN_TASK');

    // No clock: while the demo server's clock ticks twice (every 100 ms), the core server's
    // ws_example_channel gets only what is published to it.
    const demoChannel = await TestClient.open(`${demo.ws}/ws/ws_example_channel`);
    assert.match(await demoChannel.next(), /^当前时间: /);
    assert.match(await demoChannel.next(), /^当前时间: /);
    await postJson(`${core.url}/api/publish`, { channel: 'ws_example_channel', data: 'after two ticks' });
    assert.equal(await channel.next(), 'after two ticks');
    for (const client of [channel, connect, demoChannel]) client.ws.close();
  });
});
