import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Publisher } from '../channels/publisher.ts';
import { Errors, HeraldError } from '../errors.ts';
import type { Presence } from '../presence/presence.ts';
import { appChannelPrefix, channelKind, heraldChannel, isPusherChannel, isUserId, pusherName, userChannel } from './channel-mapping.ts';
import { checkEventSize } from './client-events.ts';
import type { PusherEventData } from './frames.ts';
import { presenceMembers } from './presence-members.ts';
import type { PusherApp, PusherApps } from './pusher-apps.ts';
import { TERMINATE } from './pusher-socket.ts';
import { checkRequestSignature } from './signatures.ts';
import { errorReplies } from '../http/reply-schemas.ts';

export interface PusherHttpDeps {
  apps: PusherApps;
  publisher: Publisher;
  presence: Presence;
  /** Herald channels starting with `prefix` that have subscribers somewhere in the cluster. */
  occupiedChannels: (prefix: string) => Promise<string[]>;
}

/** The most channels one event may go to, as in Pusher. */
const MAX_CHANNELS_PER_EVENT = 100;

/**
 * The HTTP API the Pusher server libraries call (`/apps/{app_id}/…`), every request signed with the
 * app's secret (signatures.ts). Events are published through Herald's Publisher, so they reach
 * Pusher and `/connect` subscribers of the mapped channels on every process.
 */
export function pusherHttpApi(http: FastifyInstance, deps: PusherHttpDeps): void {
  http.register(async (api) => {
    // The signature covers the body's MD5, so the body is kept as it came and parsed here.
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    api.addHook('preHandler', async (request) => {
      const app = deps.apps.byId((request.params as { appId: string }).appId);
      if (app === undefined) throw new HeraldError(Errors.PUSHER_APP_NOT_FOUND);
      checkRequestSignature(app, {
        method: request.method,
        path: request.url.split('?', 1)[0]!,
        query: request.query as Record<string, string>,
        body: typeof request.body === 'string' ? request.body : '',
      });
      (request as SignedRequest).pusherApp = app;
    });

    api.post('/apps/:appId/events', { schema: schema('Trigger one event on up to 100 channels', '`{}`', { 413: 'The data is over the app\'s maxEventBytes' }) }, async (request) => {
      const app = appOf(request);
      const body = jsonBody(request);
      const channels = Array.isArray(body.channels) ? body.channels : body.channel !== undefined ? [body.channel] : undefined;
      if (channels === undefined || channels.length === 0) throw new HeraldError(Errors.BAD_REQUEST, 'channels must be a non-empty array of channel names');
      if (channels.length > MAX_CHANNELS_PER_EVENT) throw new HeraldError(Errors.BAD_REQUEST, `An event goes to at most ${MAX_CHANNELS_PER_EVENT} channels`);
      const event = eventOf(app, { name: body.name, data: body.data, socket_id: body.socket_id });
      await Promise.all(channels.map((channel) => publish(deps.publisher, app, checkedChannel(channel), event)));
      return {};
    });

    api.post('/apps/:appId/batch_events', { schema: schema('Trigger a batch of events', '`{"batch": [{}, …]}`', { 413: 'An event\'s data is over the app\'s maxEventBytes' }) }, async (request) => {
      const app = appOf(request);
      const batch = jsonBody(request).batch;
      if (!Array.isArray(batch) || batch.length === 0) throw new HeraldError(Errors.BAD_REQUEST, 'batch must be a non-empty array of events');
      if (batch.length > app.limits.maxBatchEvents) throw new HeraldError(Errors.BAD_REQUEST, `A batch holds at most ${app.limits.maxBatchEvents} events`);
      const events = batch.map((item: unknown) => {
        const fields = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
        return { channel: checkedChannel(fields.channel), event: eventOf(app, fields) };
      });
      await Promise.all(events.map(({ channel, event }) => publish(deps.publisher, app, channel, event)));
      return { batch: events.map(() => ({})) };
    });

    api.get('/apps/:appId/channels', { schema: schema('The occupied channels, by prefix', '`{"channels": {"<name>": {"user_count"?}}}`') }, async (request) => {
      const app = appOf(request);
      const query = request.query as Record<string, string | undefined>;
      const prefix = query.filter_by_prefix ?? '';
      const info = infoOf(query.info);
      if (info.has('user_count') && !prefix.startsWith('presence-')) {
        throw new HeraldError(Errors.BAD_REQUEST, 'info=user_count needs filter_by_prefix=presence-');
      }
      if (info.has('subscription_count')) throw new HeraldError(Errors.BAD_REQUEST, 'subscription_count is not counted for channel lists; ask GET /apps/{app_id}/channels/{channel} of a presence channel');
      const names = (await deps.occupiedChannels(appChannelPrefix(app.id))).map(pusherName).filter((name): name is string => name !== undefined && name.startsWith(prefix));
      const channels: Record<string, { user_count?: number }> = {};
      for (const name of names.sort()) {
        channels[name] = info.has('user_count') ? { user_count: (await presenceMembers(deps.presence, heraldChannel(app.id, name))).size } : {};
      }
      return { channels };
    });

    api.get('/apps/:appId/channels/:channel', { schema: schema('Whether a channel is occupied; a presence channel\'s counts', '`{"occupied", "user_count"?, "subscription_count"?}`') }, async (request) => {
      const app = appOf(request);
      const name = checkedChannel((request.params as { channel: string }).channel);
      const info = infoOf((request.query as Record<string, string | undefined>).info);
      const channel = heraldChannel(app.id, name);
      const presence = channelKind(name) === 'presence';
      if ((info.has('user_count') || info.has('subscription_count')) && !presence) {
        throw new HeraldError(Errors.BAD_REQUEST, 'user_count and subscription_count are counted for presence channels only');
      }
      const occupied = (await deps.occupiedChannels(channel)).includes(channel);
      const reply: { occupied: boolean; user_count?: number; subscription_count?: number } = { occupied };
      if (presence && info.size > 0) {
        const entries = await deps.presence.list(channel);
        if (info.has('user_count')) reply.user_count = new Set(entries.map((entry) => entry.user).filter((user) => user !== null)).size;
        if (info.has('subscription_count')) reply.subscription_count = entries.length;
      }
      return reply;
    });

    api.get('/apps/:appId/channels/:channel/users', { schema: schema('The users of a presence channel', '`{"users": [{"id"}]}`') }, async (request) => {
      const app = appOf(request);
      const name = checkedChannel((request.params as { channel: string }).channel);
      if (channelKind(name) !== 'presence') throw new HeraldError(Errors.BAD_REQUEST, 'Users are listed for presence channels only');
      const members = await presenceMembers(deps.presence, heraldChannel(app.id, name));
      return { users: [...members.keys()].sort().map((id) => ({ id })) };
    });

    api.post('/apps/:appId/users/:userId/terminate_connections', { schema: schema('Close every socket signed in as the user, on every process', '`{}`') }, async (request) => {
      const app = appOf(request);
      const userId = (request.params as { userId: string }).userId;
      if (!isUserId(userId)) throw new HeraldError(Errors.BAD_REQUEST, 'Invalid user id');
      await deps.publisher.publish(userChannel(app.id, userId), TERMINATE, undefined, { reserved: true });
      return {};
    });
  });
}

type SignedRequest = FastifyRequest & { pusherApp?: PusherApp };

/** The OpenAPI entry of a Pusher API route; replies are Pusher's shapes, kept whole. */
function schema(summary: string, reply: string, errors: Record<number, string> = {}): object {
  return {
    tags: ['pusher'],
    summary,
    description: 'Signed with the app secret: auth_key, auth_timestamp, auth_version, body_md5 and auth_signature in the query (docs/pusher.md).',
    response: {
      200: { description: reply, type: 'object', additionalProperties: true },
      ...errorReplies({ 400: 'A malformed body or parameter', 401: 'A wrong key or signature, or auth_timestamp more than 600 s away', 404: 'No app with this id', ...errors }),
    },
  };
}

function appOf(request: FastifyRequest): PusherApp {
  return (request as SignedRequest).pusherApp!;
}

function jsonBody(request: FastifyRequest): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(typeof request.body === 'string' ? request.body : '');
  } catch {
    throw new HeraldError(Errors.BAD_REQUEST, 'The body must be a JSON object');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HeraldError(Errors.BAD_REQUEST, 'The body must be a JSON object');
  return body as Record<string, unknown>;
}

function checkedChannel(channel: unknown): string {
  if (!isPusherChannel(channel)) throw new HeraldError(Errors.BAD_REQUEST, `Invalid channel name ${JSON.stringify(channel)}`);
  return channel;
}

interface OutgoingEvent {
  data: PusherEventData;
  /** The socket that must not receive it. */
  from: string | undefined;
}

function eventOf(app: PusherApp, fields: Record<string, unknown>): OutgoingEvent {
  const { name, data, socket_id: socketId } = fields;
  if (typeof name !== 'string' || name === '' || name.length > 200) throw new HeraldError(Errors.BAD_REQUEST, 'name must be an event name of 1-200 characters');
  if (name.startsWith('pusher:') || name.startsWith('pusher_internal:')) throw new HeraldError(Errors.BAD_REQUEST, 'Event names starting with pusher: are reserved to the protocol');
  if (typeof data !== 'string') throw new HeraldError(Errors.BAD_REQUEST, 'data must be a string (the server libraries send JSON text)');
  if (socketId !== undefined && (typeof socketId !== 'string' || !/^\d+\.\d+$/.test(socketId))) throw new HeraldError(Errors.BAD_REQUEST, 'socket_id must look like 1234.5678');
  checkEventSize(app, data);
  return { data: { event: name, data }, from: socketId };
}

function publish(publisher: Publisher, app: PusherApp, channel: string, event: OutgoingEvent): Promise<unknown> {
  const reserved = channelKind(channel) === 'user';
  return publisher.publish(heraldChannel(app.id, channel), event.data, event.from, { reserved });
}

function infoOf(info: string | undefined): Set<string> {
  return new Set((info ?? '').split(',').map((item) => item.trim()).filter((item) => item !== ''));
}
