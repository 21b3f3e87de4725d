import { optionsFromEnv } from '../../src/config.ts';
import { createHerald } from '../../src/herald.ts';
import { installScheduleTestApp } from './schedule-app.ts';
import { serveUntilSignalled } from './serve.ts';

/** A server process with the schedule test app (schedule-app.ts), configured like `npm start`, plus SCHEDULE_EVERY_MS. */
const herald = createHerald(optionsFromEnv());
installScheduleTestApp(herald, Number(process.env.SCHEDULE_EVERY_MS));
await serveUntilSignalled(herald);
