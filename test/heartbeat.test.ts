import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { installDefaultApp } from '../src/app/default-app.ts';
import { startHerald, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

const HEARTBEAT_MS = 400;

describe('heartbeat', () => {
  let server: RunningHerald;
  before(async () => {
    server = await startHerald({ heartbeatMs: HEARTBEAT_MS, maxConnectionsPerIp: 0 }, installDefaultApp);
  });
  after(() => server.close());

  // Pings go out in slices over the interval; while connections are being added, each round is
  // sized for more of them and an early connection's slice comes sooner. It must still get a whole
  // interval to answer each ping.
  test('a peer that answers each ping late, but within the interval, stays while connections are added', async () => {
    const late = await TestClient.open(`${server.wsUrl}/ws/heartbeat-late`, { autoPong: false });
    let pings = 0;
    late.ws.on('ping', () => {
      pings++;
      setTimeout(() => late.ws.pong(), HEARTBEAT_MS * 0.7);
    });
    const others: TestClient[] = [];
    const started = Date.now();
    // Grow the connection count over several intervals.
    while (Date.now() - started < HEARTBEAT_MS * 6) {
      others.push(...(await Promise.all(Array.from({ length: 10 }, () => TestClient.open(`${server.wsUrl}/ws/heartbeat-others`)))));
      await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS / 8));
    }
    assert.ok(pings >= 3, `pinged ${pings} times`);
    late.send('still here');
    assert.equal(await late.next(), 'still here');
    assert.equal(server.herald.stats().refusals['ping-timeout'] ?? 0, 0);
    await Promise.all([late, ...others].map((client) => client.close()));
  });
});
