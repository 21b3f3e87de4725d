import type { FastifyInstance } from 'fastify';
import type { PrivateMessages } from '../users/private-messages.ts';
import type { UserActivity } from '../users/user-activity.ts';
import type { DeadLetters } from '../webhooks/dead-letters.ts';
import { MAX_DEAD_LETTERS } from '../webhooks/dead-letters.ts';
import { accessErrors, bodyErrors, errorReplies } from './reply-schemas.ts';

const USER_ID_PATTERN = '^[A-Za-z0-9_\\-.@=+,~]{1,100}$';
const MAX_USERS = 1000;

const statusSchema = {
  type: 'object',
  required: ['online', 'lastSeen'],
  properties: { online: { type: 'boolean' }, lastSeen: { type: ['integer', 'null'], description: 'When the user was last connected (ms since the epoch); null while online or never seen' } },
} as const;

/**
 * The users API (docs/users.md): `POST /api/users/online`, `POST /api/users/{user}/messages`,
 * `GET /api/webhooks/dead-letters`. Behind the API key, like the rest of `/api/*`: the caller is
 * the application's backend, trusted to ask about and write to any user.
 */
export function userRoutes(app: FastifyInstance, users: { activity: UserActivity; messages: PrivateMessages; deadLetters: DeadLetters }): void {
  app.post<{ Body: { users: string[] } }>(
    '/users/online',
    {
      schema: {
        tags: ['api'],
        summary: 'Online status of up to 1,000 users, across the cluster',
        security: [{ apiKey: [] }],
        body: {
          type: 'object',
          required: ['users'],
          additionalProperties: false,
          properties: { users: { type: 'array', minItems: 1, maxItems: MAX_USERS, items: { type: 'string', pattern: USER_ID_PATTERN } } },
        },
        response: {
          200: { description: 'Each user id asked for, with its status', type: 'object', additionalProperties: statusSchema },
          ...errorReplies({ ...bodyErrors, ...accessErrors, 503: 'Redis is not reachable' }),
        },
      },
    },
    async (request) => Object.fromEntries(await users.activity.lookup([...new Set(request.body.users)])),
  );

  app.post<{ Params: { user: string }; Body: { data: unknown; from?: string; store?: boolean } }>(
    '/users/:user/messages',
    {
      schema: {
        tags: ['api'],
        summary: 'Send a private message to a user: live to their open connections, and kept in their inbox with store',
        security: [{ apiKey: [] }],
        params: { type: 'object', required: ['user'], properties: { user: { type: 'string', pattern: USER_ID_PATTERN } } },
        body: {
          type: 'object',
          required: ['data'],
          additionalProperties: false,
          properties: {
            data: { description: 'Any JSON value' },
            from: { type: 'string', pattern: USER_ID_PATTERN, description: 'The sender shown to the recipient; default null (the server)' },
            store: { type: 'boolean', description: "Keep it in the recipient's inbox until acknowledged; default HERALD_INBOX_STORE" },
          },
        },
        response: {
          200: {
            description: 'Sent: whether it reached a connection (live) and whether it was kept (stored)',
            type: 'object',
            required: ['user', 'live', 'stored', 'online'],
            properties: {
              user: { type: 'string' },
              live: { type: 'boolean' },
              stored: { type: 'boolean' },
              inbox: { type: 'string', description: 'Its inbox id, when stored' },
              online: { type: 'boolean', description: 'The same as live' },
            },
          },
          ...errorReplies({ ...bodyErrors, ...accessErrors, 429: "HERALD_ERR_INBOX_FULL: the recipient's inbox is full; nothing was stored or sent", 503: 'Redis is not reachable' }),
        },
      },
    },
    async (request) => users.messages.send(request.body.from ?? null, request.params.user, request.body.data, { store: request.body.store }),
  );

  app.get<{ Querystring: { limit?: string } }>(
    '/webhooks/dead-letters',
    {
      schema: {
        tags: ['api'],
        summary: 'Webhook events given up after the retry time, newest first',
        security: [{ apiKey: [] }],
        querystring: { type: 'object', properties: { limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$', description: 'How many, 1-1000 (default 100)' } } },
        response: {
          200: {
            description: 'The newest dead letters (at most 1,000 are kept)',
            type: 'object',
            required: ['deadLetters'],
            properties: {
              deadLetters: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['url', 'event', 'attempts', 'lastError', 'failedAt'],
                  properties: {
                    url: { type: 'string' },
                    event: { type: 'object', additionalProperties: true, properties: { id: { type: 'string' }, type: { type: 'string' }, time: { type: 'integer' }, data: {} } },
                    attempts: { type: 'integer' },
                    lastError: { type: 'string' },
                    failedAt: { type: 'integer' },
                  },
                },
              },
            },
          },
          ...errorReplies({ ...accessErrors, 400: 'limit is not an integer from 1 to 1000', 503: 'Redis is not reachable' }),
        },
      },
    },
    async (request) => ({ deadLetters: await users.deadLetters.list(Math.min(MAX_DEAD_LETTERS, Number(request.query.limit ?? 100))) }),
  );
}
