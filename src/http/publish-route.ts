import type { FastifyInstance } from 'fastify';
import type { Publisher } from '../channels/publisher.ts';
import { accessErrors, bodyErrors, errorReplies } from './reply-schemas.ts';

interface PublishBody {
  channel: string;
  data: unknown;
  idempotencyKey?: string;
}

/**
 * `POST /api/publish {"channel", "data", "idempotencyKey"?}`: 200 `{"ok": true}` once the broker has
 * accepted it (`"duplicate": true` added when the key was already used on the channel).
 */
export function publishRoute(app: FastifyInstance, publisher: Publisher): void {
  app.post<{ Body: PublishBody }>(
    '/publish',
    {
      schema: {
        tags: ['api'],
        summary: 'Publish to a channel',
        security: [{ apiKey: [] }],
        body: {
          type: 'object',
          required: ['channel', 'data'],
          properties: {
            channel: { type: 'string', minLength: 1, maxLength: 200 },
            data: { description: 'Any JSON value' },
            idempotencyKey: { type: 'string', minLength: 1, maxLength: 200, description: 'Publishing again with the same key on the same channel publishes nothing and answers duplicate: true' },
          },
        },
        response: {
          200: {
            description: 'The broker has the message',
            type: 'object',
            required: ['ok'],
            properties: { ok: { type: 'boolean', enum: [true] }, duplicate: { type: 'boolean', enum: [true], description: 'Present when the idempotency key was already used on the channel' } },
          },
          ...errorReplies({ ...bodyErrors, ...accessErrors, 503: 'Redis is not reachable: nothing was published' }),
        },
      },
    },
    async (request) => {
      const result = await publisher.publish(request.body.channel, request.body.data, undefined, { idempotencyKey: request.body.idempotencyKey });
      return result.duplicate === true ? { ok: true, duplicate: true } : { ok: true };
    },
  );
}
