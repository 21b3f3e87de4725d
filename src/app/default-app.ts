import type { Herald } from '../herald.ts';
import { broadcastRoom } from './broadcast-room.ts';
import { channelSockets } from './channel-sockets.ts';
import { echo } from './echo.ts';
import { groupChat } from './group-chat.ts';
import { privateChat } from './private-chat.ts';
import { roomChat } from './room-chat.ts';
import { secureEcho } from './secure-echo.ts';
import { userEvents } from './user-events.ts';

/** What `npm start` serves: every seed scenario, each written with the public API. */
export function installDefaultApp(herald: Herald): Herald {
  userEvents(herald);
  channelSockets(herald);
  privateChat(herald);
  echo(herald);
  secureEcho(herald);
  roomChat(herald);
  broadcastRoom(herald);
  groupChat(herald);
  return herald;
}
