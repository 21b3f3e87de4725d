import { Errors, HeraldError } from '../errors.ts';
import type { Herald } from '../herald.ts';
import { errorReplies } from '../http/reply-schemas.ts';
import { channelAuthText, sign } from '../pusher/signatures.ts';
import type { PusherAppConfig } from '../pusher/pusher-apps.ts';

/**
 * The Pusher app of the demo page (web/pages/pusher.html), added by `herald serve` while demos are
 * on. Its secret is public like everything in the open demo: the same on every process, so a
 * subscription signed by one is accepted by another.
 */
export const DEMO_PUSHER_APP: PusherAppConfig = { id: 'herald-demo', key: 'herald-demo', secret: 'herald-demo-open-secret', clientEvents: true };

/** The configured apps with the demo app added (unless an app already has its id or key). */
export function withDemoPusherApp(apps: PusherAppConfig[] | undefined): PusherAppConfig[] {
  const list = apps ?? [];
  return list.some((app) => app.id === DEMO_PUSHER_APP.id || app.key === DEMO_PUSHER_APP.key) ? list : [...list, DEMO_PUSHER_APP];
}

/**
 * The demo page's auth endpoint, as an app's backend would write it: it signs presence
 * subscriptions of the demo app for whatever name the page gives (`?user=`), since the demo has
 * no accounts. A real app signs for the user of its session.
 */
export function pusherDemo(herald: Herald): void {
  herald.http.register(async (api) => {
    api.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    const schema = {
      tags: ['demo'],
      summary: "The Pusher demo page's auth endpoint: signs a presence subscription of the demo app for ?user=",
      response: {
        200: { description: '`{"auth", "channel_data"}`, as pusher-js expects', type: 'object', properties: { auth: { type: 'string' }, channel_data: { type: 'string' } } },
        ...errorReplies({ 400: 'No socket_id, not a presence- channel, or no valid ?user=', 404: 'The demo app is not configured' }),
      },
    };
    api.post<{ Querystring: { user?: string } }>('/pusher/auth', { schema }, async (request) => {
      const app = herald.options.pusherApps?.find((candidate) => candidate.id === DEMO_PUSHER_APP.id);
      if (app === undefined) throw new HeraldError(Errors.NOT_FOUND, 'The Pusher demo app is not configured on this server');
      const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
      const socketId = form.get('socket_id');
      const channel = form.get('channel_name');
      const user = (request.query.user ?? '').trim().slice(0, 40);
      if (socketId === null || !/^\d+\.\d+$/.test(socketId) || channel === null || !channel.startsWith('presence-') || !/^[\w .-]{1,40}$/.test(user)) {
        throw new HeraldError(Errors.BAD_REQUEST, 'Give socket_id, a presence- channel_name and ?user= (1-40 letters, digits, spaces, . or -)');
      }
      const channelData = JSON.stringify({ user_id: user, user_info: { name: user } });
      return { auth: `${app.key}:${sign(app.secret, channelAuthText(socketId, channel, channelData))}`, channel_data: channelData };
    });
  });
}
