/**
 * Every error Herald can report, and every close code, defined once — shared by the server
 * (src/errors.ts re-exports it) and the client SDK (client/errors.ts), so the two can never
 * disagree about what a code means or whether to retry. Nothing here may import server code.
 *
 * Like fastify's `FST_ERR_*` and ws's `WS_ERR_*`, each error has a stable string code that
 * clients and logs can match on, the HTTP status it maps to, the WebSocket close code it leads to
 * when it ends a connection, and whether the client should retry. Codes are never reused for
 * another meaning.
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
  /** The connection's token expired and was not refreshed in time. Reconnect with a fresh token. */
  TOKEN_EXPIRED: 4100,
  /**
   * /connect: publications of a subscribed channel were lost between processes and could not be
   * refilled from history. Reconnect: the client's recovery then returns them or says
   * `recovered: false`.
   */
  GAP_DETECTED: 4001,
  /** /connect: the client asked for a protocol version this server does not speak. Give up. */
  UNSUPPORTED_PROTOCOL: 4501,
  /** An administrator disconnected this user's connections (`POST /api/admin/disconnect`). Give up. */
  DISCONNECTED_BY_ADMIN: 4502,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Whether a client should reconnect after a close with this code (see docs/protocol.md). */
export function shouldReconnect(code: number): boolean {
  if (code >= 4000 && code < 4500) return true;
  if (code >= 4500 && code < 5000) return false;
  return code === 1001 || code === 1005 || code === 1006 || code === 1011 || code === 1012 || code === 1013;
}

/**
 * One error: what it is called, its default message, and how it is answered, decided here once.
 */
export interface ErrorDefinition {
  /** Stable code clients and logs match on (`HERALD_ERR_*`). */
  readonly code: string;
  readonly message: string;
  /** The HTTP status it is answered with. */
  readonly statusCode: number;
  /** The close code when it ends a socket. */
  readonly closeCode: number;
  /**
   * Whether it always ends the socket it is raised on. When not, a socket gets an error frame or
   * reply and stays open; it is closed (with `closeCode`) only when a route fails with it while
   * setting the socket up.
   */
  readonly endsConnection: boolean;
  /**
   * Whether the client should try again — reconnect after the close, or repeat the request later —
   * rather than give up: always `shouldReconnect(closeCode)`, so both answers agree.
   */
  readonly retry: boolean;
}

/**
 * `closeCode`, when given, is the code the error always closes its socket with. Otherwise the error
 * is an answer, and closes a socket only when a route fails with it during setup: with 1013 (try
 * again later) when the failure is the server's (status 500 and up), with 1008 (refused) when it is
 * the request's. `options.endsConnection: false` gives an answer a close code of its own.
 */
function define(code: string, message: string, statusCode: number, closeCode?: number, options: { endsConnection?: boolean } = {}): ErrorDefinition {
  const close = closeCode ?? (statusCode >= 500 ? CloseCode.TRY_AGAIN_LATER : CloseCode.POLICY_VIOLATION);
  const endsConnection = options.endsConnection ?? closeCode !== undefined;
  return Object.freeze({ code, message, statusCode, closeCode: close, endsConnection, retry: shouldReconnect(close) });
}

export const Errors = {
  BAD_REQUEST: define('HERALD_ERR_BAD_REQUEST', 'The request is malformed', 400),
  MISSING_PARAMETER: define('HERALD_ERR_MISSING_PARAMETER', 'A required parameter is missing', 400, CloseCode.POLICY_VIOLATION),
  BAD_JSON: define('HERALD_ERR_BAD_JSON', 'The frame is not valid JSON', 400),
  UNAUTHORIZED: define('HERALD_ERR_UNAUTHORIZED', 'Missing or invalid credentials', 401, CloseCode.POLICY_VIOLATION),
  FORBIDDEN: define('HERALD_ERR_FORBIDDEN', 'Not allowed from this address', 403),
  NOT_FOUND: define('HERALD_ERR_NOT_FOUND', 'No such route', 404),
  BROKER_UNAVAILABLE: define('HERALD_ERR_BROKER_UNAVAILABLE', 'The broker (Redis) is not reachable', 503),
  PUBLISH_OUTCOME_UNKNOWN: define('HERALD_ERR_PUBLISH_OUTCOME_UNKNOWN', 'The broker (Redis) did not confirm the publication in time: it may or may not have been delivered. Retry with the same idempotencyKey to have it delivered exactly once', 504),
  SHUTTING_DOWN: define('HERALD_ERR_SHUTTING_DOWN', 'The server is shutting down', 503, CloseCode.GOING_AWAY),
  SLOW_CONSUMER: define('HERALD_ERR_SLOW_CONSUMER', 'The client did not read fast enough', 503, CloseCode.TRY_AGAIN_LATER),
  BINARY_NOT_SUPPORTED: define('HERALD_ERR_BINARY_NOT_SUPPORTED', 'Binary frames are not accepted', 400, CloseCode.UNSUPPORTED_DATA),
  PAGES_NOT_BUILT: define('HERALD_ERR_PAGES_NOT_BUILT', 'The demo pages are not built: run npm run build:web (npm start does it for you)', 503),
  UNKNOWN_TASK: define('HERALD_ERR_UNKNOWN_TASK', 'No task handler is registered under this name', 400),
  TASK_NOT_FOUND: define('HERALD_ERR_TASK_NOT_FOUND', 'No task with this id (unknown, or expired)', 404),
  TASK_FAILED: define('HERALD_ERR_TASK_FAILED', 'The task failed', 500),
  TASK_QUEUE_FULL: define('HERALD_ERR_TASK_QUEUE_FULL', 'Too many tasks are waiting to run; try again later', 503),
  INTERNAL: define('HERALD_ERR_INTERNAL', 'Internal server error', 500, CloseCode.INTERNAL_ERROR),
  // Authentication, permissions and limits (docs/security.md).
  TOKEN_INVALID: define('HERALD_ERR_TOKEN_INVALID', 'Invalid token', 401, CloseCode.POLICY_VIOLATION),
  TOKEN_EXPIRED: define('HERALD_ERR_TOKEN_EXPIRED', 'Token expired', 401, CloseCode.TOKEN_EXPIRED),
  AUTH_UNAVAILABLE: define('HERALD_ERR_AUTH_UNAVAILABLE', 'Cannot verify tokens right now', 503, CloseCode.TRY_AGAIN_LATER),
  ORIGIN_NOT_ALLOWED: define('HERALD_ERR_ORIGIN_NOT_ALLOWED', 'This origin may not open WebSockets here', 403),
  PERMISSION_DENIED: define('HERALD_ERR_PERMISSION_DENIED', 'Permission denied', 403),
  // The message was dropped, not refused: it may be sent again later.
  RATE_LIMITED: define('HERALD_ERR_RATE_LIMITED', 'Too many messages: this one was dropped', 429, CloseCode.TRY_AGAIN_LATER, { endsConnection: false }),
  MESSAGE_FLOOD: define('HERALD_ERR_MESSAGE_FLOOD', 'Too many messages', 429, CloseCode.POLICY_VIOLATION),
  TOO_MANY_SUBSCRIPTIONS: define('HERALD_ERR_TOO_MANY_SUBSCRIPTIONS', 'Too many subscriptions on this connection', 429),
  BODY_TOO_LARGE: define('HERALD_ERR_BODY_TOO_LARGE', 'The request body is larger than the limit', 413),
  // Transient: the client backs off and tries again (a refused handshake reaches browsers as 1006).
  TOO_MANY_CONNECTIONS: define('HERALD_ERR_TOO_MANY_CONNECTIONS', 'Too many connections from this address', 429, CloseCode.TRY_AGAIN_LATER, { endsConnection: false }),
  // The WebSocket handshake itself (transport/handshake-check.ts, transport/socket-server.ts).
  BAD_HANDSHAKE: define('HERALD_ERR_BAD_HANDSHAKE', 'Not a valid WebSocket handshake', 400),
  UNSUPPORTED_WEBSOCKET_VERSION: define('HERALD_ERR_UNSUPPORTED_WEBSOCKET_VERSION', 'Unsupported WebSocket version: this server speaks version 13', 426),
  HANDSHAKE_TIMEOUT: define('HERALD_ERR_HANDSHAKE_TIMEOUT', 'The connection could not be set up in time: try again later', 503),
  // The /connect protocol (docs/protocol.md). Reply errors leave the socket open.
  UNKNOWN_OP: define('HERALD_ERR_UNKNOWN_OP', 'Unknown op', 400),
  ALREADY_SUBSCRIBED: define('HERALD_ERR_ALREADY_SUBSCRIBED', 'Already subscribed to this channel', 409),
  NOT_SUBSCRIBED: define('HERALD_ERR_NOT_SUBSCRIBED', 'Not subscribed to this channel', 409),
  HISTORY_DISABLED: define('HERALD_ERR_HISTORY_DISABLED', 'This channel keeps no history', 400),
  PRESENCE_DISABLED: define('HERALD_ERR_PRESENCE_DISABLED', 'This channel keeps no presence', 400),
  IDENTITY_REQUIRED: define('HERALD_ERR_IDENTITY_REQUIRED', 'This operation needs an authenticated user', 401),
  GAP_DETECTED: define('HERALD_ERR_GAP_DETECTED', 'Publications were lost and could not be recovered here; reconnect to recover', 503, CloseCode.GAP_DETECTED),
  UNSUPPORTED_PROTOCOL: define('HERALD_ERR_UNSUPPORTED_PROTOCOL', 'Unsupported protocol version', 400, CloseCode.UNSUPPORTED_PROTOCOL),
  // The Pusher Channels HTTP API (docs/pusher.md); its sockets close with PusherCloseCode below.
  PUSHER_APP_NOT_FOUND: define('HERALD_ERR_PUSHER_APP_NOT_FOUND', 'No Pusher app with this id is configured', 404),
  PUSHER_SIGNATURE_INVALID: define('HERALD_ERR_PUSHER_SIGNATURE_INVALID', 'The request signature (auth_key, auth_signature, body_md5) does not match', 401),
  PUSHER_TIMESTAMP_EXPIRED: define('HERALD_ERR_PUSHER_TIMESTAMP_EXPIRED', 'auth_timestamp is more than 600 seconds away from the server clock', 401),
  PUSHER_PAYLOAD_TOO_LARGE: define('HERALD_ERR_PUSHER_PAYLOAD_TOO_LARGE', 'The event data is larger than the app allows', 413),
  // Users: online status, inboxes, webhooks (docs/users.md).
  INBOX_FULL: define('HERALD_ERR_INBOX_FULL', "The recipient's inbox is full: the message was neither stored nor sent", 429),
  TOO_MANY_WATCHED: define('HERALD_ERR_TOO_MANY_WATCHED', 'Too many users watched on this connection', 429),
} as const;

export type ErrorName = keyof typeof Errors;

/**
 * The close and `pusher:error` codes of the Pusher Channels protocol, spoken only on `/app/{key}`
 * (docs/pusher.md). They are that protocol's, not Herald's: the same numbers mean other things on
 * `/connect` (4001, 4100), which is why they are a table of their own. Pusher clients decide by
 * range: 4000-4099 give up, 4100-4199 reconnect with backoff, 4200-4299 reconnect at once.
 */
export const PusherCloseCode = {
  /** No app has the key in the path. Give up. */
  APP_NOT_FOUND: 4001,
  /** The app's connection limit is reached. Give up. */
  OVER_CONNECTION_QUOTA: 4004,
  /** The `protocol` query parameter is not a number. Give up. */
  INVALID_VERSION_FORMAT: 4006,
  /** A protocol version other than 5 to 7. Give up. */
  UNSUPPORTED_PROTOCOL: 4007,
  /** No `protocol` query parameter. Give up. */
  NO_PROTOCOL_VERSION: 4008,
  /** Not authorized: a bad signature, or the user's connections were terminated. Give up. */
  UNAUTHORIZED: 4009,
  /** Reconnect at once (the server is shutting down). */
  RECONNECT: 4200,
  /** A client event over the app's rate (an error, the socket stays open). */
  CLIENT_EVENT_RATE_LIMITED: 4301,
} as const;
