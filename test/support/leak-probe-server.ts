import { installDefaultApp } from '../../src/app/default-app.ts';
import { optionsFromEnv } from '../../src/config.ts';
import { createHerald } from '../../src/herald.ts';
import { serveUntilSignalled } from './serve.ts';

// src/cli.ts's default app plus GET /test/heap, which collects garbage (start the process with
// NODE_OPTIONS=--expose-gc) and answers the heap in use: leak tests compare it before and after.
const herald = createHerald(optionsFromEnv());
installDefaultApp(herald);
herald.http.get('/test/heap', async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('start with NODE_OPTIONS=--expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { heapUsed: process.memoryUsage().heapUsed };
});
await serveUntilSignalled(herald);
