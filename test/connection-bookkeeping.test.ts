import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Herald } from '../src/herald.ts';
import { startHerald, waitFor, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

// The socket server's bookkeeping (its set of open connections and the per-IP counts) is done by
// one close hook that every connection shares: however a connection ends (a closing handshake, a
// dropped TCP connection), its slot comes back exactly once and it leaves the set.
// (Handshakes abandoned or timed out before the 101: handshake-leaks.test.ts.)
const LIMIT = 3;
const HANDSHAKE = (path: string): string =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

describe('connection bookkeeping on close', () => {
  let server: RunningHerald;
  before(async () => {
    server = await startHerald({ maxConnectionsPerIp: LIMIT }, (herald: Herald) => {
      herald.socket('/open', (socket) => socket.send('hi'));
    });
  });
  after(() => server.close());

  /** Opens LIMIT sockets, proving every slot is free, and closes them again. */
  async function allSlotsFree(): Promise<void> {
    const clients: TestClient[] = [];
    for (let i = 0; i < LIMIT; i++) clients.push(await TestClient.open(`${server.wsUrl}/open`));
    assert.equal(server.herald.stats().connections, LIMIT);
    await Promise.all(clients.map((client) => client.close()));
    await waitFor(() => server.herald.stats().connections === 0, 5000, 'every connection gone from the set');
  }

  test('sockets closed after the 101 leave the set and give their slots back, again and again', async () => {
    for (let round = 0; round < 3; round++) await allSlotsFree();
  });

  test('a client that drops its TCP connection without a closing handshake gives its slot back', async () => {
    const raw = connect(Number(new URL(server.url).port), '127.0.0.1');
    await once(raw, 'connect');
    raw.write(HANDSHAKE('/open'));
    const [answer] = (await once(raw, 'data')) as [Buffer];
    assert.match(answer.toString(), /^HTTP\/1\.1 101 /);
    // Two more slots: that is the limit.
    const others = [await TestClient.open(`${server.wsUrl}/open`), await TestClient.open(`${server.wsUrl}/open`)];
    await assert.rejects(TestClient.open(`${server.wsUrl}/open`), { statusCode: 429 });
    raw.destroy();
    await waitFor(async () => {
      const client = await TestClient.open(`${server.wsUrl}/open`).catch(() => undefined);
      if (client === undefined) return false;
      others.push(client);
      return true;
    }, 5000, 'the dropped connection\'s slot');
    assert.equal(server.herald.stats().connections, 3);
    await Promise.all(others.map((client) => client.close()));
    await waitFor(() => server.herald.stats().connections === 0, 5000, 'every connection gone from the set');
    await allSlotsFree();
  });
});
