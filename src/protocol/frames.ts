import { isValidChannelName } from '../channels/channel-name.ts';
import type { Publication } from '../channels/publication.ts';
import { Errors, HeraldError } from '../errors.ts';
import type { StreamPosition } from '../history/history.ts';
import { isValidTaskId } from '../tasks/task-channel.ts';
import { isInboxId, type InboxMessage } from '../users/inbox.ts';
import { retryAfterMs } from './retry-advice.ts';

/**
 * The /connect protocol's frames (docs/protocol.md): requests from the client, validated here
 * into typed values, and the replies and pushes the server sends.
 */
export const PROTOCOL_VERSION = 1;

export type RequestId = number | string;

export type Request =
  | { op: 'subscribe'; id?: RequestId; channel: string; since?: StreamPosition; info?: unknown }
  | { op: 'unsubscribe'; id?: RequestId; channel: string }
  | { op: 'publish'; id?: RequestId; channel: string; data: unknown; idempotencyKey?: string }
  | { op: 'send'; id?: RequestId; user: string; data: unknown; store?: boolean }
  | { op: 'online'; id?: RequestId; users: string[] }
  | { op: 'watch'; id?: RequestId; users: string[] }
  | { op: 'unwatch'; id?: RequestId; users: string[] }
  | { op: 'ack'; id?: RequestId; ids: string[] }
  | { op: 'presence'; id?: RequestId; channel: string }
  | { op: 'history'; id?: RequestId; channel: string; since?: StreamPosition; limit?: number }
  | { op: 'refresh'; id?: RequestId; token: string }
  | { op: 'task'; id?: RequestId; name: string; args: unknown }
  | { op: 'taskStatus'; id?: RequestId; task: string }
  | { op: 'ping'; id?: RequestId };

/** A frame that could not be turned into a request, with the id to answer (when it had one). */
export class RequestError extends Error {
  readonly id: RequestId | undefined;
  readonly error: HeraldError;
  constructor(id: RequestId | undefined, error: HeraldError) {
    super(error.message);
    this.id = id;
    this.error = error;
  }
}

const MAX_INFO_BYTES = 1024;
const USER_ID = /^[A-Za-z0-9_\-.@=+,~]{1,100}$/;
/** Users one `online`, `watch` or `unwatch` request may name. */
export const MAX_USERS_PER_REQUEST = 1000;
/** Inbox ids one `ack` may name. */
const MAX_ACK_IDS = 1000;

/** Whether `value` is a user id: 1-100 letters, digits or `_ - . @ = + , ~`. */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && USER_ID.test(value);
}

/** Parses and validates one text frame; throws RequestError with the reply to send. */
export function parseRequest(text: string): Request {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RequestError(undefined, new HeraldError(Errors.BAD_JSON));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RequestError(undefined, new HeraldError(Errors.BAD_REQUEST, 'A request is a JSON object with an "op"'));
  }
  const frame = value as Record<string, unknown>;
  const id = frame.id;
  if (id !== undefined && !((typeof id === 'number' && Number.isSafeInteger(id)) || (typeof id === 'string' && id.length <= 64))) {
    throw new RequestError(undefined, new HeraldError(Errors.BAD_REQUEST, '"id" must be an integer or a string of at most 64 characters'));
  }
  const bad = (message: string): RequestError => new RequestError(id, new HeraldError(Errors.BAD_REQUEST, message));
  const channel = (): string => {
    if (!isValidChannelName(frame.channel)) {
      throw bad(frame.channel === undefined ? '"channel" is required' : `Invalid channel name ${preview(frame.channel)}: use 1-200 letters, digits or _ - . : @ = + , ~ /`);
    }
    return frame.channel;
  };
  const data = (): unknown => {
    if (!('data' in frame)) throw bad('"data" is required');
    return frame.data;
  };
  const since = (): StreamPosition | undefined => {
    const s = frame.since;
    if (s === undefined) return undefined;
    const p = s as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || !Number.isSafeInteger(p.offset) || (p.offset as number) < 0 || typeof p.epoch !== 'string' || p.epoch.length > 64) {
      throw bad('"since" must be {"offset": <integer >= 0>, "epoch": <string>}');
    }
    return { offset: p.offset as number, epoch: p.epoch };
  };
  const withId = <T extends object>(request: T): T & { id?: RequestId } => (id === undefined ? request : { ...request, id });
  switch (frame.op) {
    case 'subscribe': {
      const request: Request = withId({ op: 'subscribe' as const, channel: channel() });
      const from = since();
      if (from !== undefined) request.since = from;
      if (frame.info !== undefined) {
        if (encodable(frame.info, '"info"', id).length > MAX_INFO_BYTES) throw bad(`"info" must be at most ${MAX_INFO_BYTES} bytes of JSON`);
        request.info = frame.info;
      }
      return request;
    }
    case 'unsubscribe':
      return withId({ op: 'unsubscribe' as const, channel: channel() });
    case 'publish': {
      const request: Request = withId({ op: 'publish' as const, channel: channel(), data: data() });
      const key = frame.idempotencyKey;
      if (key !== undefined) {
        if (typeof key !== 'string' || key.length === 0 || key.length > 200) throw bad('"idempotencyKey" must be a string of 1-200 characters');
        request.idempotencyKey = key;
      }
      return request;
    }
    case 'send': {
      if (typeof frame.user !== 'string' || !USER_ID.test(frame.user)) throw bad('"user" must be a user id: 1-100 letters, digits or _ - . @ = + , ~');
      const request: Request = withId({ op: 'send' as const, user: frame.user, data: data() });
      if (frame.store !== undefined) {
        if (typeof frame.store !== 'boolean') throw bad('"store" must be true or false');
        request.store = frame.store;
      }
      return request;
    }
    case 'online':
    case 'watch':
    case 'unwatch': {
      const users = frame.users;
      if (!Array.isArray(users) || users.length === 0 || users.length > MAX_USERS_PER_REQUEST || !users.every(isUserId)) {
        throw bad(`"users" must be an array of 1-${MAX_USERS_PER_REQUEST} user ids (1-100 letters, digits or _ - . @ = + , ~)`);
      }
      return withId({ op: frame.op, users: [...new Set(users as string[])] });
    }
    case 'ack': {
      const ids = frame.ids;
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_ACK_IDS || !ids.every(isInboxId)) {
        throw bad(`"ids" must be an array of 1-${MAX_ACK_IDS} inbox ids (from the "inbox" field of message pushes)`);
      }
      return withId({ op: 'ack' as const, ids: ids as string[] });
    }
    case 'presence':
      return withId({ op: 'presence' as const, channel: channel() });
    case 'history': {
      const request: Request = withId({ op: 'history' as const, channel: channel() });
      const from = since();
      if (from !== undefined) request.since = from;
      if (frame.limit !== undefined) {
        if (!Number.isSafeInteger(frame.limit) || (frame.limit as number) < 0) throw bad('"limit" must be an integer >= 0');
        request.limit = frame.limit as number;
      }
      return request;
    }
    case 'refresh': {
      if (typeof frame.token !== 'string' || frame.token.length === 0 || frame.token.length > 8192) throw bad('"token" must be a non-empty string');
      return withId({ op: 'refresh' as const, token: frame.token });
    }
    case 'task': {
      if (typeof frame.name !== 'string' || frame.name.length === 0 || frame.name.length > 100) throw bad('"name" must be a task name (a string of 1-100 characters)');
      const args = frame.args ?? null;
      encodable(args, '"args"', id);
      return withId({ op: 'task' as const, name: frame.name, args });
    }
    case 'taskStatus': {
      if (!isValidTaskId(frame.task)) throw bad('"task" must be a task id: 1-100 letters, digits, _ or -, not all digits');
      return withId({ op: 'taskStatus' as const, task: frame.task });
    }
    case 'ping':
      return withId({ op: 'ping' as const });
    case undefined:
      throw bad('"op" is required');
    default:
      throw new RequestError(id, new HeraldError(Errors.UNKNOWN_OP, `Unknown op ${preview(frame.op)}: use subscribe, unsubscribe, publish, send, online, watch, unwatch, ack, presence, history, refresh, task, taskStatus or ping`));
  }
}

/**
 * `value` as JSON, or a refusal of the request. JSON.parse takes any depth, but JSON.stringify
 * recurses and overflows the stack on deeply nested values: every field the server encodes again is
 * checked here, so that it is refused with a reply instead of failing later outside the request
 * (which closed the socket with 1011).
 */
function encodable(value: unknown, field: string, id: RequestId | undefined): string {
  try {
    return JSON.stringify(value);
  } catch {
    throw new RequestError(id, new HeraldError(Errors.BAD_REQUEST, `${field} cannot be encoded as JSON (nested too deeply?)`));
  }
}

/** A client-sent value for an error message: primitives as JSON (long strings cut), objects by kind. */
function preview(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
  if (typeof value !== 'object' || value === null) return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** `{"type":"reply","id":…,"result":…}`; `extra` is raw JSON members appended to the result object. */
export function encodeResult(id: RequestId | undefined, result: object, extra = ''): string {
  let json = JSON.stringify(result);
  if (extra !== '') json = json.length === 2 ? `{${extra}}` : `${json.slice(0, -1)},${extra}}`;
  return `{"type":"reply"${id === undefined ? '' : `,"id":${JSON.stringify(id)}`},"result":${json}}`;
}

/** `{"type":"reply","id":…,"error":{"code","message"}}`, plus `retryAfterMs` when the server advises a wait (retry-advice.ts). */
export function encodeError(id: RequestId | undefined, error: HeraldError): string {
  const retryAfter = retryAfterMs(error);
  const body = retryAfter === undefined ? error.toJSON() : { ...error.toJSON(), retryAfterMs: retryAfter };
  return `{"type":"reply"${id === undefined ? '' : `,"id":${JSON.stringify(id)}`},"error":${JSON.stringify(body)}}`;
}

/** `[{"offset":n,"data":…},…]` from history entries, without parsing their data. */
export function encodePublications(entries: ReadonlyArray<{ offset: number; json: string }>): string {
  let out = '[';
  for (let i = 0; i < entries.length; i++) out += `${i === 0 ? '' : ','}{"offset":${entries[i]!.offset},"data":${entries[i]!.json}}`;
  return `${out}]`;
}

/**
 * The push for a channel publication or presence event, built once per publication per process
 * (Publication.frame caches it under the form name `protocol`).
 */
export function encodeChannelPush(publication: Publication): string {
  const channel = JSON.stringify(publication.channel);
  if (publication.event !== undefined) return `{"type":"${publication.event}","channel":${channel},"client":${publication.json}}`;
  const position = publication.offset === undefined ? '' : `,"offset":${publication.offset},"epoch":${JSON.stringify(publication.epoch)}`;
  return `{"type":"pub","channel":${channel}${position},"data":${publication.json}}`;
}

/**
 * The push for a private message; its publication's data is `{"from": user, "data": …}`, plus
 * `"inbox"` and `"sentAt"` when it was stored.
 */
export function encodeMessagePush(publication: Publication): string {
  const json = publication.json;
  if (json.charCodeAt(0) === 123 /* { */ && json.length > 2) return `{"type":"message",${json.slice(1)}`;
  // Published straight to Redis by another program: no sender.
  return `{"type":"message","from":null,"data":${json}}`;
}

/** The push for a stored message replayed at connect: `{"type":"message","from","data","inbox","sentAt","replayed":true}`. */
export function encodeReplayedMessage(message: InboxMessage): string {
  const json = message.json;
  const fields = json.charCodeAt(0) === 123 /* { */ && json.length > 2 ? `${json.slice(1, -1)},` : `"from":null,"data":${json},`;
  return `{"type":"message",${fields}"inbox":${JSON.stringify(message.id)},"sentAt":${message.sentAt},"replayed":true}`;
}

/** The push for a watched user's status change; its publication's data is `{"user", "online", "lastSeen"}`. */
export function encodeStatusPush(publication: Publication): string {
  return `{"type":"status",${publication.json.slice(1)}`;
}
