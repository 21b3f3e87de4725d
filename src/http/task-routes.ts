import type { FastifyInstance } from 'fastify';
import { Errors, HeraldError } from '../errors.ts';
import type { Tasks } from '../tasks/tasks.ts';
import { accessErrors, bodyErrors, errorReplies } from './reply-schemas.ts';

const taskStatus = {
  description: "The task's state",
  type: 'object',
  required: ['id', 'name', 'state', 'runs', 'progress'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    state: { type: 'string', enum: ['queued', 'running', 'completed', 'failed'] },
    runs: { type: 'integer', minimum: 0, description: 'How many times it started running; more than 1 when a worker died running it' },
    progress: { description: 'The latest progress report (a number, string, boolean or object); 0 until the first' },
    result: { description: "The handler's return value, once completed" },
    reason: { type: 'string', description: 'Why it failed, once failed' },
  },
} as const;

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
        tags: ['api'],
        summary: 'Start a background task',
        security: [{ apiKey: [] }],
        body: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, args: { description: 'Any JSON value, handed to the task' } },
        },
        response: {
          202: {
            description: 'Queued; its events go to channel task:<id>',
            type: 'object',
            required: ['id'],
            properties: { id: { type: 'string' } },
          },
          ...errorReplies({ ...bodyErrors, 400: 'The body does not match the schema, or no task is registered under this name', ...accessErrors, 503: 'Redis is not reachable' }),
        },
      },
    },
    async (request, reply) => {
      const { id } = await tasks.start(request.body.name, request.body.args ?? null);
      return reply.status(202).send({ id });
    },
  );
  const statusSchema = {
    tags: ['api'],
    summary: "A task's state, progress and outcome",
    security: [{ apiKey: [] }],
    params: { type: 'object', required: ['id'], properties: { id: { type: 'string', description: 'The id POST /api/tasks answered' } } },
    response: { 200: taskStatus, ...errorReplies({ ...accessErrors, 404: 'No task with this id (unknown, or expired)', 503: 'Redis is not reachable' }) },
  };
  app.get<{ Params: { id: string } }>('/tasks/:id', { schema: statusSchema }, async (request) => {
    const status = await tasks.get(request.params.id);
    if (status === undefined) throw new HeraldError(Errors.TASK_NOT_FOUND, `No task with id ${JSON.stringify(request.params.id)}`);
    return status;
  });
}
