import type { FastifyInstance } from 'fastify';
import type { AdminCommands } from '../cluster/admin-commands.ts';
import { Errors, HeraldError } from '../errors.ts';
import { accessErrors, bodyErrors, errorReplies } from './reply-schemas.ts';

/**
 * `POST /admin/disconnect {"user"}` (under `/api`): closes every connection of `user` on every
 * process with close code 4502. Open only with an API key: without one `/api/*` answers any local
 * client, which is not enough to throw users out.
 */
export function adminRoutes(api: FastifyInstance, commands: AdminCommands, apiKeySet: boolean): void {
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
          ...errorReplies({ ...bodyErrors, ...accessErrors, 404: 'Closed: HERALD_API_KEY is not set', 503: 'Redis is not reachable: nobody was disconnected', 504: 'Redis did not confirm in time: users may or may not have been disconnected' }),
        },
      },
    },
    async (request) => {
      if (!apiKeySet) throw new HeraldError(Errors.NOT_FOUND, 'Admin commands are closed: set HERALD_API_KEY to open them');
      await commands.disconnectUser(request.body.user);
      return { ok: true };
    },
  );
}
