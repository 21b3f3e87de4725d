/**
 * Herald's errors for server code: the table of src/shared/error-table.ts (each error's code,
 * message, HTTP status, close code and retry decision, shared with the client SDK), the error
 * class that carries one, and the shapes every answer is built in.
 */
import { CloseCode, Errors, type ErrorDefinition } from './shared/error-table.ts';

export { CloseCode, Errors, PusherCloseCode, shouldReconnect, type CloseCodeValue, type ErrorDefinition, type ErrorName } from './shared/error-table.ts';

/** An error carrying one of the definitions of the table; thrown by Herald's API, mapped to answers. */
export class HeraldError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** The close code when it ends a socket (see ErrorDefinition). */
  readonly closeCode: number;
  /** Whether it always ends the socket it is raised on, rather than being answered. */
  readonly endsConnection: boolean;
  /** Whether the client should try again rather than give up. */
  readonly retry: boolean;

  constructor(definition: ErrorDefinition, message?: string, options?: { cause?: unknown }) {
    super(message ?? definition.message, options);
    this.name = 'HeraldError';
    this.code = definition.code;
    this.statusCode = definition.statusCode;
    this.closeCode = definition.closeCode;
    this.endsConnection = definition.endsConnection;
    this.retry = definition.retry;
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** The body of every HTTP error answer: `{"ok": false, "error": {"code", "message"}}`. */
export function httpErrorBody(error: { code: string; message: string }): { ok: false; error: { code: string; message: string } } {
  return { ok: false, error: { code: error.code, message: error.message } };
}

/** The error frame of the raw socket routes: `{"type": "error", "code", "message"}`. */
export function errorFrame(error: { code: string; message: string }): { type: 'error'; code: string; message: string } {
  return { type: 'error', code: error.code, message: error.message };
}

/**
 * The close code of a socket whose token is refused at connect: the error's own when the failure is
 * the server's (the client should retry), otherwise 1008, whatever the error's own code — a token
 * refused now would be refused again, even one that merely expired (4100 is for a token that
 * expires while connected, when fetching a fresh one and reconnecting helps).
 */
export function closeCodeAtConnect(error: HeraldError): number {
  return error.statusCode >= 500 ? error.closeCode : CloseCode.POLICY_VIOLATION;
}

/** A command line `herald` cannot run: an unknown command or option, a missing argument (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}
