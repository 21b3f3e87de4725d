import type { FastifyInstance } from 'fastify';
import type { Publisher } from '../channels/publisher.ts';

interface PublishBody {
  channel: string;
  data: unknown;
}

/** `POST /api/publish {"channel", "data"}`: 200 `{"ok": true}` once the broker has accepted it. */
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
          },
        },
      },
    },
    async (request) => {
      await publisher.publish(request.body.channel, request.body.data);
      return { ok: true };
    },
  );
}
