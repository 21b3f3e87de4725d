import type { FastifyInstance } from 'fastify';
import type { Publisher } from '../channels/publisher.ts';

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
        body: {
          type: 'object',
          required: ['channel', 'data'],
          properties: {
            channel: { type: 'string', minLength: 1, maxLength: 200 },
            data: {},
            idempotencyKey: { type: 'string', minLength: 1, maxLength: 200 },
          },
        },
      },
    },
    async (request) => {
      const result = await publisher.publish(request.body.channel, request.body.data, undefined, { idempotencyKey: request.body.idempotencyKey });
      return result.duplicate === true ? { ok: true, duplicate: true } : { ok: true };
    },
  );
}
