import type { Herald } from '../herald.ts';
import { bodyErrors, errorReplies } from '../http/reply-schemas.ts';

interface StartBody {
  value: string | number;
  id?: string;
}

/**
 * `POST /example_task {"value": 42, "id": "<uuid>"}` → 202 `{"id", "channel"}`: starts seed 004's
 * `example` task, asking it to report its progress in ten steps, for the task page, which follows
 * it on channel `task:<id>` with the client SDK. The page picks the id and subscribes first, so it
 * misses no event; the channel keeps history, so a page that reconnects mid-task still gets the
 * progress and the result. Unlike `/api/tasks` it needs no API key: like `/async_task/`, it is the
 * demo's to use from any browser, until authentication is configured (a JWT key or an API key):
 * then it takes a user's token or the API key (`herald.identifyRequest`).
 *
 * Task channels are written by the server only: clients may subscribe to them but not publish.
 */
export function exampleTaskRoute(herald: Herald): void {
  herald.namespace('task', { publish: false });
  herald.http.post<{ Body: StartBody }>(
    '/example_task',
    {
      schema: {
        tags: ['demo'],
        summary: "Start the task page's example task",
        response: {
          202: {
            description: 'Queued; follow it on `channel`',
            type: 'object',
            required: ['id', 'channel'],
            properties: { id: { type: 'string' }, channel: { type: 'string' } },
          },
          ...errorReplies({ ...bodyErrors, 503: 'Redis is not reachable' }),
        },
        body: {
          type: 'object',
          required: ['value'],
          properties: {
            value: { anyOf: [{ type: 'string', minLength: 1, maxLength: 100 }, { type: 'number' }] },
            id: { type: 'string' },
          },
        },
      },
    },
    async (request, reply) => {
      // Open in the demo; with authentication configured, only signed-in users and the API key.
      await herald.identifyRequest(request);
      const { value, id } = request.body;
      const started = await herald.tasks.start('example', { value, reportProgress: true }, id === undefined ? {} : { id });
      return reply.status(202).send({ id: started.id, channel: `task:${started.id}` });
    },
  );
}
