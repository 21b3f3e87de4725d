import type { FastifyError, FastifyInstance } from 'fastify';
import { Errors, HeraldError, httpErrorBody } from '../errors.ts';
import { redactUrl } from './log-redaction.ts';

/** Every HTTP error is answered as `{"ok": false, "error": {"code", "message"}}` with its status. */
export function installErrorReplies(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HeraldError, request, reply) => {
    if (error instanceof HeraldError) {
      if (error.statusCode >= 500) request.log.warn({ err: error.cause ?? error }, error.message);
      return reply.status(error.statusCode).send(httpErrorBody(error));
    }
    if (error.validation !== undefined) {
      return reply.status(400).send(httpErrorBody({ code: Errors.BAD_REQUEST.code, message: error.message }));
    }
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.status(status).send(httpErrorBody(Errors.INTERNAL));
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send(httpErrorBody(Errors.BODY_TOO_LARGE));
    }
    // Fastify's own client errors (bad JSON body, wrong content type).
    return reply.status(status).send(httpErrorBody({ code: error.code ?? Errors.BAD_REQUEST.code, message: error.message }));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(httpErrorBody({ code: Errors.NOT_FOUND.code, message: `No route for ${request.method} ${redactUrl(request.url)}` }));
  });
}
