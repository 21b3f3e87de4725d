import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { freePort, PrivateRedis } from './support/redis-server.ts';

// The helper picks a port before redis-server binds it, so another test's server can take it in
// between. It must then start on another port, never hand out the stranger's server as its own.
test('PrivateRedis.start() that loses its port to another Redis starts its own server on a fresh port', async () => {
  const stranger = await PrivateRedis.start();
  const picked: number[] = [];
  const mine = await PrivateRedis.start({ pickPort: async () => {
    const port = picked.length === 0 ? stranger.port : await freePort();
    picked.push(port);
    return port;
  } });
  try {
    assert.equal(picked.length, 2);
    assert.notEqual(mine.port, stranger.port);
    assert.equal(mine.port, picked[1]);
    // Each answers on its own port: a key written to one is not on the other.
    const [a, b] = [new Redis(mine.url), new Redis(stranger.url)];
    await a.set('private-redis-test', 'mine');
    assert.equal(await b.get('private-redis-test'), null);
    a.disconnect();
    b.disconnect();
  } finally {
    await mine.kill();
    await stranger.kill();
  }
});
