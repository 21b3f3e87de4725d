/**
 * JSON Schemas of the HTTP API's replies, shared by its routes. Fastify serializes each reply with
 * the schema of its status, and the OpenAPI document (openapi.ts) is generated from them, so they
 * must list every field a reply has: a field missing here would be dropped from the reply.
 */

const errorBody = {
  type: 'object',
  required: ['ok', 'error'],
  properties: {
    ok: { type: 'boolean', enum: [false] },
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'An error code from docs/errors.md, e.g. HERALD_ERR_BAD_REQUEST' },
        message: { type: 'string' },
      },
    },
  },
} as const;

/** `{"ok": false, "error": {"code", "message"}}` for each status, with what it means for the route. */
export function errorReplies(meanings: Record<number, string>): Record<number, object> {
  return Object.fromEntries(Object.entries(meanings).map(([status, description]) => [status, { description, ...errorBody }]));
}

/** Who may call `/api/*` and `/metrics` (api-access.ts). */
export const accessErrors = {
  401: 'HERALD_API_KEY is set and the request has neither the key nor an admin token in `Authorization: Bearer`',
  403: 'No HERALD_API_KEY is set and the client is not on this machine, or the token is valid but not an admin token',
};

/** What any route with a JSON body may answer before it runs. */
export const bodyErrors = {
  400: 'The body does not match the schema, or is not valid JSON',
  413: 'The body is larger than HERALD_MAX_BODY_BYTES',
  415: 'The body is not `application/json`',
};

export const okReply = {
  type: 'object',
  required: ['ok'],
  properties: { ok: { type: 'boolean', enum: [true] } },
} as const;

/** `GET /api/stats`: this process's sockets, channels and refusals (herald.stats()). */
export const statsSchema = {
  tags: ['api'],
  summary: "This process's open sockets, channels with local subscribers, and refusals by kind",
  security: [{ apiKey: [] }],
  response: {
    200: {
      description: 'The numbers of this process',
      type: 'object',
      required: ['connections', 'channels', 'broker', 'refusals'],
      properties: {
        connections: { type: 'integer', minimum: 0 },
        channels: { type: 'integer', minimum: 0 },
        broker: { type: 'string', enum: ['memory', 'redis', 'redis-cluster'] },
        refusals: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 }, description: 'Count by refusal kind (docs/security.md)' },
      },
    },
    ...errorReplies(accessErrors),
  },
};
