import { packageVersion } from '../package-version.ts';
import { fastifySwagger } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

const DESCRIPTION = `The HTTP side of Herald, a real-time messaging server. The WebSocket routes are not in
this document: \`/connect\` speaks the protocol of docs/protocol.md, and the default app's raw socket
routes are listed in the README.

Every error reply is \`{"ok": false, "error": {"code", "message"}}\` with its HTTP status; the codes are
in docs/errors.md. \`/api/*\` and \`/metrics\` answer \`Authorization: Bearer <HERALD_API_KEY>\`, or, when
no key is set, only clients on the same machine.`;

/**
 * Collects every HTTP route with its schemas, for `GET /api/openapi.json`.
 *
 * Applied to the instance at once instead of through `register()`: fastify runs `onRoute` hooks
 * when a route is declared, and Herald's routes, the default app's and an app's own are declared
 * on the root instance before the plugin queue is loaded, so a registered plugin would miss them.
 */
export function collectOpenApi(app: FastifyInstance, version = packageVersion()): void {
  fastifySwagger(
    app,
    {
      openapi: {
        openapi: '3.0.3',
        info: { title: 'Herald HTTP API', version, description: DESCRIPTION },
        components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'HERALD_API_KEY' } } },
      },
    },
    (error) => {
      if (error) throw error;
    },
  );
}

/** `GET /openapi.json` (under `/api`): the OpenAPI 3 document of every HTTP route. */
export function openApiRoute(api: FastifyInstance, root: FastifyInstance): void {
  api.get(
    '/openapi.json',
    {
      schema: {
        tags: ['api'],
        summary: 'This document',
        security: [{ apiKey: [] }],
        response: { 200: { description: 'An OpenAPI 3.0 document', type: 'object', additionalProperties: true } },
      },
    },
    async () => root.swagger(),
  );
}
