import type { Herald } from '../herald.ts';
import { appSettings, type DefaultAppSettings } from './app-settings.ts';
import { asyncTask } from './async-task.ts';
import { broadcastRoom } from './broadcast-room.ts';
import { channelSockets } from './channel-sockets.ts';
import { chatRooms } from './chat-rooms.ts';
import { clock } from './clock.ts';
import { demoPages } from './demo-pages.ts';
import { echo } from './echo.ts';
import { exampleTaskRoute } from './example-task-route.ts';
import { groupChat } from './group-chat.ts';
import { privateChat } from './private-chat.ts';
import { pusherDemo } from './pusher-demo.ts';
import { roomChat } from './room-chat.ts';
import { secureEcho } from './secure-echo.ts';
import { timedEcho } from './timed-echo.ts';
import { userEvents } from './user-events.ts';

/**
 * What `npm start` serves: every seed scenario, each written with the public API. The timed
 * scenarios' settings come from the environment unless given (docs/tasks.md).
 */
export function installDefaultApp(herald: Herald, settings: Partial<DefaultAppSettings> = {}): Herald {
  const s = appSettings(settings);
  userEvents(herald);
  channelSockets(herald);
  privateChat(herald);
  echo(herald);
  secureEcho(herald);
  roomChat(herald);
  broadcastRoom(herald);
  groupChat(herald);
  timedEcho(herald, s.timedEchoIntervalMs);
  asyncTask(herald, { delayMs: s.exampleTaskDelayMs, timeoutMs: s.exampleTaskTimeoutMs });
  clock(herald, s.clockIntervalMs);
  exampleTaskRoute(herald);
  chatRooms(herald);
  demoPages(herald);
  pusherDemo(herald);
  return herald;
}
