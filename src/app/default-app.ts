import type { Herald } from '../herald.ts';
import { broadcastRoom } from './broadcast-room.ts';
import { channelSockets } from './channel-sockets.ts';
import { demoPages } from './demo-pages.ts';
import { echo } from './echo.ts';
import { groupChat } from './group-chat.ts';
import { privateChat } from './private-chat.ts';
import { roomChat } from './room-chat.ts';
import { userEvents } from './user-events.ts';

/** What `npm start` serves: every seed scenario, each written with the public API. */
export function installDefaultApp(herald: Herald): Herald {
  userEvents(herald);
  channelSockets(herald);
  privateChat(herald);
  echo(herald);
  roomChat(herald);
  broadcastRoom(herald);
  groupChat(herald);
  demoPages(herald);
  return herald;
}
