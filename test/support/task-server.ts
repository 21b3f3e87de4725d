import { optionsFromEnv } from '../../src/config.ts';
import { createHerald } from '../../src/herald.ts';
import { installTaskTestApp } from './task-app.ts';
import { serveUntilSignalled } from './serve.ts';

// `herald serve` (src/cli/serve.ts) with the task test app, for spawnHerald(env, 'test/support/task-server.ts').
await serveUntilSignalled(installTaskTestApp(createHerald(optionsFromEnv())));
