/**
 * Every error Herald can report, defined once.
 *
 * Like fastify's `FST_ERR_*` and ws's `WS_ERR_*`, each error has a stable string code that
 * clients and logs can match on, the HTTP status it maps to on the HTTP API, and the WebSocket
 * close code it leads to when it ends a connection. Codes are never reused for another meaning.
 */

/** Close codes after which a client should reconnect (with backoff) or give up. */
export const CloseCode = {
  /** The app closed the socket on purpose (e.g. a task socket whose work is done). Give up. */
  NORMAL: 1000,
  /** Server shutting down or restarting. Reconnect. */
  GOING_AWAY: 1001,
  /** A binary frame where text was expected, or other unacceptable data. Give up. */
  UNSUPPORTED_DATA: 1003,
  /** A text frame that is not valid UTF-8. Give up. */
  INVALID_PAYLOAD: 1007,
  /** Refused by policy: bad or missing token, permission, required parameter, abuse. Give up. */
  POLICY_VIOLATION: 1008,
  /** A frame larger than the configured limit. Give up. */
  MESSAGE_TOO_BIG: 1009,
  /** An unexpected server error. Reconnect. */
  INTERNAL_ERROR: 1011,
  /** The server is restarting. Reconnect. */
  SERVICE_RESTART: 1012,
  /** Slow consumer: the unsent backlog passed its byte limit. Reconnect. */
  TRY_AGAIN_LATER: 1013,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Whether a client should reconnect after a close with this code (see docs/protocol.md). */
export function shouldReconnect(code: number): boolean {
  if (code >= 4000 && code < 4500) return true;
  if (code >= 4500 && code < 5000) return false;
  return code === 1001 || code === 1005 || code === 1006 || code === 1011 || code === 1012 || code === 1013;
}

export interface ErrorDefinition {
  readonly code: string;
  readonly message: string;
  readonly statusCode: number;
  readonly closeCode?: number;
}

function define(code: string, message: string, statusCode: number, closeCode?: number): ErrorDefinition {
  return Object.freeze({ code, message, statusCode, closeCode });
}

export const Errors = {
  BAD_REQUEST: define('HERALD_ERR_BAD_REQUEST', 'The request is malformed', 400),
  MISSING_PARAMETER: define('HERALD_ERR_MISSING_PARAMETER', 'A required parameter is missing', 400, CloseCode.POLICY_VIOLATION),
  BAD_JSON: define('HERALD_ERR_BAD_JSON', 'The frame is not valid JSON', 400),
  UNAUTHORIZED: define('HERALD_ERR_UNAUTHORIZED', 'Missing or invalid credentials', 401, CloseCode.POLICY_VIOLATION),
  FORBIDDEN: define('HERALD_ERR_FORBIDDEN', 'Not allowed from this address', 403),
  NOT_FOUND: define('HERALD_ERR_NOT_FOUND', 'No such route', 404),
  BROKER_UNAVAILABLE: define('HERALD_ERR_BROKER_UNAVAILABLE', 'The broker (Redis) is not reachable', 503),
  SHUTTING_DOWN: define('HERALD_ERR_SHUTTING_DOWN', 'The server is shutting down', 503, CloseCode.GOING_AWAY),
  SLOW_CONSUMER: define('HERALD_ERR_SLOW_CONSUMER', 'The client did not read fast enough', 503, CloseCode.TRY_AGAIN_LATER),
  BINARY_NOT_SUPPORTED: define('HERALD_ERR_BINARY_NOT_SUPPORTED', 'Binary frames are not accepted', 400, CloseCode.UNSUPPORTED_DATA),
  INTERNAL: define('HERALD_ERR_INTERNAL', 'Internal server error', 500, CloseCode.INTERNAL_ERROR),
} as const;

export type ErrorName = keyof typeof Errors;

/** An error carrying one of the definitions above; thrown by Herald's API, mapped to replies. */
export class HeraldError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly closeCode: number | undefined;

  constructor(definition: ErrorDefinition, message?: string, options?: { cause?: unknown }) {
    super(message ?? definition.message, options);
    this.name = 'HeraldError';
    this.code = definition.code;
    this.statusCode = definition.statusCode;
    this.closeCode = definition.closeCode;
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}
