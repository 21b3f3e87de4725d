import { optionsFromEnv } from '../../src/config.ts';
import { createHerald } from '../../src/herald.ts';
import { serveUntilSignalled } from './serve.ts';

// A core server (no demos) for the users tests: configuration from the environment (webhooks,
// inbox limits, the debounce), plus a `room` namespace anyone may subscribe to.
const herald = createHerald(optionsFromEnv());
herald.namespace('room', { subscribe: 'authenticated' });
await serveUntilSignalled(herald);
