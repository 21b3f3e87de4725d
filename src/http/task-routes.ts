import type { FastifyInstance } from 'fastify';
import { Errors, HeraldError } from '../errors.ts';
import type { Tasks } from '../tasks/tasks.ts';

interface StartBody {
  name: string;
  args?: unknown;
}

/**
 * `POST /api/tasks {"name", "args"}` → 202 `{"id"}` once the task is queued (its events go to
 * channel `task:<id>`); `GET /api/tasks/:id` → 200 with its status, 404 for an unknown id.
 */
export function taskRoutes(app: FastifyInstance, tasks: Tasks): void {
  app.post<{ Body: StartBody }>(
    '/tasks',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, args: {} },
        },
      },
    },
    async (request, reply) => {
      const { id } = await tasks.start(request.body.name, request.body.args ?? null);
      return reply.status(202).send({ id });
    },
  );
  app.get<{ Params: { id: string } }>('/tasks/:id', async (request) => {
    const status = await tasks.get(request.params.id);
    if (status === undefined) throw new HeraldError(Errors.TASK_NOT_FOUND, `No task with id ${JSON.stringify(request.params.id)}`);
    return status;
  });
}
