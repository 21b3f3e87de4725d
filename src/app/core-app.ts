import type { Herald } from '../herald.ts';
import { channelSockets } from './channel-sockets.ts';

/**
 * What `herald serve --no-demos` serves besides what every Herald has (`/connect`, the HTTP API,
 * health and metrics): the generic channel socket `/ws/{channel}`, whose every subscribe and
 * publish goes through the channel permissions. No demo pages or demo routes, no example task, no
 * clock schedule.
 */
export function installCoreApp(herald: Herald): Herald {
  channelSockets(herald);
  return herald;
}
