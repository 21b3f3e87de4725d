import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { installDefaultApp } from '../src/app/default-app.ts';
import { startHerald, waitFor, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

// Seed 002's timed echo. The issue's case is a client talking every second for 25 s with the time
// every 10 s; here the same ratio runs faster through HERALD_TIMED_ECHO_INTERVAL_MS's setting:
// the time every 1 s, a message every 300 ms, for about 3 s.
describe('seed 002: /echo/timed', () => {
  let server: RunningHerald;
  before(async () => {
    server = await startHerald({}, (herald) => installDefaultApp(herald, { timedEchoIntervalMs: 1000 }));
  });
  after(() => server.close());

  test('a client that talks more often than the interval still receives the time, and every echo', async () => {
    const client = await TestClient.open(`${server.wsUrl}/echo/timed`);
    const sent: string[] = [];
    const frames: string[] = [];
    const started = Date.now();
    while (Date.now() - started < 3200) {
      const text = `message ${sent.length}`;
      client.send(text);
      sent.push(text);
      // Wait for this message's echo (time messages may arrive first), then pause ~300 ms.
      for (;;) {
        const frame = await client.next();
        frames.push(frame);
        if (frame === `Message text was: ${text}`) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await client.close();
    const echoes = frames.filter((frame) => frame.startsWith('Message text was: '));
    const times = frames.filter((frame) => frame.startsWith('It is: '));
    assert.deepEqual(echoes, sent.map((text) => `Message text was: ${text}`));
    assert.ok(times.length >= 2, `expected at least 2 time messages among ${JSON.stringify(frames)}`);
    for (const time of times) assert.match(time, /^It is: \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(frames.length, echoes.length + times.length);
  });

  test('a socket that never talks gets the time too, and closes cleanly', async () => {
    const client = await TestClient.open(`${server.wsUrl}/echo/timed`);
    assert.match(await client.next(3000), /^It is: /);
    await client.close();
    await waitFor(() => server.herald.stats().connections === 0, 5000, 'server-side close');
  });
});
