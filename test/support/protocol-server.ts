import { optionsFromEnv } from '../../src/config.ts';
import { createHerald } from '../../src/herald.ts';
import { installProtocolTestApp } from './protocol-app.ts';
import { serveUntilSignalled } from './serve.ts';

// src/cli.ts with the protocol test app, for spawnHerald(env, 'test/support/protocol-server.ts').
await serveUntilSignalled(installProtocolTestApp(createHerald(optionsFromEnv())));
