import type { FastifyInstance } from 'fastify';
import type { AdminCommands } from '../cluster/admin-commands.ts';
import type { ApiAccess } from './api-access.ts';
import { Errors, HeraldError } from '../errors.ts';
import type { History } from '../history/history.ts';
import type { Presence } from '../presence/presence.ts';
import { accessErrors, bodyErrors, errorReplies } from './reply-schemas.ts';

/**
 * `POST /admin/disconnect {"user"}` (under `/api`): closes every connection of `user` on every
 * process with close code 4502. Only with the API key or an admin token: without an API key
 * `/api/*` answers any local client, which is not enough to throw users out.
 */
export function adminRoutes(api: FastifyInstance, commands: AdminCommands, access: ApiAccess): void {
  api.post<{ Body: { user: string } }>(
    '/admin/disconnect',
    {
      schema: {
        tags: ['api'],
        summary: "Close every connection of a user, on every process of the cluster (close code 4502)",
        security: [{ apiKey: [] }],
        body: {
          type: 'object',
          required: ['user'],
          properties: { user: { type: 'string', minLength: 1, maxLength: 200, description: "The user id (a token's sub)" } },
        },
        response: {
          200: { description: 'Every process has been told; each closes the sockets it holds', type: 'object', required: ['ok'], properties: { ok: { type: 'boolean', enum: [true] } } },
          ...errorReplies({ ...bodyErrors, ...accessErrors, 401: 'Neither the API key nor an admin token was sent (a local client without one is not enough)', 404: 'Closed: neither HERALD_API_KEY nor HERALD_ADMIN_CLAIM is set', 503: 'Redis is not reachable: nobody was disconnected', 504: 'Redis did not confirm in time: users may or may not have been disconnected' }),
        },
      },
    },
    async (request) => {
      await access.requireAdmin(request);
      await commands.disconnectUser(request.body.user);
      return { ok: true };
    },
  );
}

/** A channel found by the admin channel search. */
export interface ChannelSummary {
  channel: string;
  /** Processes of the cluster subscribed to it (with the embedded broker: 1, this process). */
  processes: number;
  /** Subscribers on every process that answered in time (see `ChannelSearch.nodes`). */
  subscribers: number;
  /** Subscribers on the process that answered the request. */
  localSubscribers: number;
}

/** The admin channel search's answer. */
export interface ChannelSearch {
  channels: ChannelSummary[];
  /** How many live processes were asked for their subscriber counts, and how many answered in time. */
  nodes: { answered: number; expected: number };
}

/** What the channel routes read: supplied by Herald, so that the routes know no broker. */
export interface ChannelLookup {
  /** Channels whose name starts with `prefix`, cluster-wide with Redis, server-internal ones left out. */
  find(prefix: string, limit: number): Promise<ChannelSearch>;
  presence: Presence;
  history: History;
}

const MAX_CHANNELS = 100;
const LAST_PUBLICATIONS = 10;

const channelSummarySchema = {
  type: 'object',
  required: ['channel', 'processes', 'subscribers', 'localSubscribers'],
  properties: {
    channel: { type: 'string' },
    processes: { type: 'integer', minimum: 0, description: 'Processes of the cluster subscribed to the channel' },
    subscribers: { type: 'integer', minimum: 0, description: 'Subscribers on every process that answered in time (`nodes.answered`)' },
    localSubscribers: { type: 'integer', minimum: 0, description: 'Subscribers on the process that answered' },
  },
} as const;

/** `GET /admin/channels?prefix=` and `GET /admin/channels/:channel` (under `/api`). */
export function adminChannelRoutes(api: FastifyInstance, lookup: ChannelLookup, access: ApiAccess): void {
  const failures = errorReplies({ ...accessErrors, 401: 'Neither the API key nor an admin token was sent (a local client without one is not enough)', 404: 'Closed: neither HERALD_API_KEY nor HERALD_ADMIN_CLAIM is set', 503: 'The broker (Redis) did not answer' });
  api.get<{ Querystring: { prefix?: string } }>(
    '/admin/channels',
    {
      schema: {
        tags: ['api'],
        summary: `Channels with subscribers whose name starts with a prefix (at most ${MAX_CHANNELS}), cluster-wide with Redis`,
        security: [{ apiKey: [] }],
        querystring: { type: 'object', properties: { prefix: { type: 'string', maxLength: 200, default: '' } } },
        response: {
          200: {
            description: 'The channels, by name',
            type: 'object',
            required: ['channels', 'nodes'],
            properties: {
              channels: { type: 'array', items: channelSummarySchema },
              nodes: {
                type: 'object',
                description: 'Live processes asked for their subscriber counts, and how many answered within a second (fewer: the counts are short by the silent ones)',
                required: ['answered', 'expected'],
                properties: { answered: { type: 'integer', minimum: 0 }, expected: { type: 'integer', minimum: 0 } },
              },
            },
          },
          ...failures,
        },
      },
    },
    async (request) => {
      await access.requireAdmin(request);
      try {
        return await lookup.find(request.query.prefix ?? '', MAX_CHANNELS);
      } catch (error) {
        throw new HeraldError(Errors.BROKER_UNAVAILABLE, 'The broker (Redis) did not answer', { cause: error });
      }
    },
  );
  api.get<{ Params: { channel: string } }>(
    '/admin/channels/:channel',
    {
      schema: {
        tags: ['api'],
        summary: `A channel's presence and its last ${LAST_PUBLICATIONS} publications kept in history`,
        security: [{ apiKey: [] }],
        params: { type: 'object', required: ['channel'], properties: { channel: { type: 'string', minLength: 1, maxLength: 200 } } },
        response: {
          200: {
            description: 'Presence and history of the channel',
            type: 'object',
            required: ['channel', 'presence', 'publications'],
            properties: {
              channel: { type: 'string' },
              presence: {
                type: 'array',
                items: { type: 'object', required: ['connection', 'user'], properties: { connection: { type: 'string' }, user: { type: ['string', 'null'] } } },
              },
              publications: {
                type: 'array',
                description: 'Newest last',
                items: { type: 'object', required: ['offset', 'data'], properties: { offset: { type: 'integer' }, data: { description: 'The JSON value published' } } },
              },
            },
          },
          ...failures,
        },
      },
    },
    async (request) => {
      await access.requireAdmin(request);
      const { channel } = request.params;
      try {
        const [presence, page] = await Promise.all([lookup.presence.list(channel), lookup.history.read(channel, { limit: LAST_PUBLICATIONS })]);
        return {
          channel,
          presence: presence.map(({ connection, user }) => ({ connection, user })),
          publications: page.publications.map((entry) => ({ offset: entry.offset, data: JSON.parse(entry.json) as unknown })),
        };
      } catch (error) {
        throw new HeraldError(Errors.BROKER_UNAVAILABLE, 'The broker (Redis) did not answer', { cause: error });
      }
    },
  );
}
