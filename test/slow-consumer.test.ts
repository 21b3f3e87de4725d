import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { postJson, spawnHerald, startHerald, waitFor, type HeraldProcess } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

const TOTAL_BYTES = 100 * 1024 * 1024;
const PAYLOAD_BYTES = 256 * 1024;
const PUBLICATIONS = TOTAL_BYTES / PAYLOAD_BYTES;
/** How far above its idle size the server's RSS may go while 100 MB flow past a stalled client. */
const RSS_HEADROOM_BYTES = 80 * 1024 * 1024;

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

async function openSubscriber(url: string): Promise<{ ws: WebSocket; messages: () => number; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  let messages = 0;
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  // The echo of our own first message proves the subscription is in place.
  const subscribed = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  ws.send('ready');
  await subscribed;
  // Count the firehose's publications only (not other subscribers' "ready").
  ws.on('message', (data: Buffer) => {
    if (data.length === PAYLOAD_BYTES || data.toString() === 'after') messages++;
  });
  return { ws, messages: () => messages, closed };
}

describe('slow consumer', () => {
  let server: HeraldProcess;
  before(async () => {
    // 4 MiB: room for a burst of 256 KiB publications at a client that reads, none for one that stops.
    server = await spawnHerald({ HERALD_MAX_BACKLOG_BYTES: String(4 * 1024 * 1024) });
  });
  after(() => server.stop());

  test('a client that stops reading is closed while 100 MB flow to its channel; RSS stays bounded; others receive everything', async (t) => {
    const pid = server.child.pid!;
    const good = await openSubscriber(`${server.wsUrl}/ws/firehose`);
    const slow = await openSubscriber(`${server.wsUrl}/ws/firehose`);
    // Stop reading: the kernel buffers fill, then the server's per-socket backlog grows.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    const payload = 'p'.repeat(PAYLOAD_BYTES);
    const idleRss = await rssOf(pid);
    let peakRss = idleRss;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakRss = Math.max(peakRss, await rssOf(pid));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    let next = 0;
    const publisher = async (): Promise<void> => {
      while (next < PUBLICATIONS) {
        next++;
        const reply = await postJson(`${server.url}/api/publish`, { channel: 'firehose', data: payload });
        assert.equal(reply.status, 200);
      }
    };
    await Promise.all([publisher(), publisher()]);
    let goodClosed: number | undefined;
    void good.closed.then((code) => (goodClosed = code));
    await waitFor(() => good.messages() === PUBLICATIONS || goodClosed !== undefined, 60_000, `all ${PUBLICATIONS} publications at the good client`);
    assert.equal(goodClosed, undefined, 'the reading client stays connected');
    assert.equal(good.messages(), PUBLICATIONS);
    sampling = false;
    await sampler;

    // The stalled socket was closed as a slow consumer (the close frame is queued behind the
    // backlog it is not reading, so the server drops the TCP connection a second later).
    await waitFor(() => server.output().includes('"refusal":"slow-consumer"'), 10_000, 'the slow-consumer log line');
    // It was closed as soon as its backlog passed the limit: by at most one publication's frame.
    const backlog = Number(/"refusal":"slow-consumer".*?"backlog":(\d+)/.exec(server.output())![1]);
    assert.ok(backlog > 4 * 1024 * 1024 && backlog <= 4 * 1024 * 1024 + PAYLOAD_BYTES + 16, `backlog at close: ${backlog}`);
    await waitFor(async () => (await (await fetch(`${server.url}/api/stats`)).json() as { connections: number }).connections === 1, 10_000, 'the slow socket to be gone');
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    assert.equal(await slow.closed, 1006);
    assert.ok(slow.messages() < PUBLICATIONS, `the slow client got ${slow.messages()} of ${PUBLICATIONS}`);

    const growth = peakRss - idleRss;
    assert.ok(growth < RSS_HEADROOM_BYTES, `RSS grew by ${(growth / 1048576).toFixed(1)} MB (idle ${(idleRss / 1048576).toFixed(1)} MB)`);
    t.diagnostic(`RSS idle ${(idleRss / 1048576).toFixed(1)} MB, peak ${(peakRss / 1048576).toFixed(1)} MB while ${TOTAL_BYTES / 1048576} MB were published`);

    // The good client is still subscribed and served.
    await postJson(`${server.url}/api/publish`, { channel: 'firehose', data: 'after' });
    await waitFor(() => good.messages() === PUBLICATIONS + 1, 5000, 'a publication after the storm');
    good.ws.close();
    await good.closed;
  });

  test('a burst larger than the backlog limit in one tick does not close a client that reads', async () => {
    const local = await startHerald({ maxBacklogBytes: 1024 * 1024 });
    try {
      const client = await TestClient.open(`${local.wsUrl}/ws/burst`);
      client.send('ready');
      assert.equal(await client.next(), 'ready');
      // 2 MiB handed to one socket within a single tick: corked, then flushed to the kernel at once.
      const payload = 'b'.repeat(PAYLOAD_BYTES);
      const published = Array.from({ length: 8 }, () => local.herald.publish('burst', payload));
      await Promise.all(published);
      const frames = await client.take(8);
      assert.deepEqual(frames.map((frame) => frame.length), Array(8).fill(PAYLOAD_BYTES));
      assert.equal(local.herald.stats().refusals['slow-consumer'], undefined);
      await client.close();
    } finally {
      await local.close();
    }
  });
});
