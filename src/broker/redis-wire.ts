import { Publication, type PublicationMeta } from '../channels/publication.ts';

/**
 * The format of a message on a Herald Redis channel (documented in README "Redis wire format").
 *
 * Herald writes `herald1\n<data JSON>`, or `herald1 <meta JSON>\n<data JSON>` when there is
 * metadata (`{"from": connection id, "offset": n, "epoch": "...", "event": "join"}`). The marker keeps a JSON string
 * apart from other JSON ("42" vs 42) and lets other programs read what Herald publishes.
 *
 * Anything else is a message from another program (`redis-cli PUBLISH herald:news hello`): it is
 * taken as JSON when it parses as JSON, and as a string otherwise, so `hello` arrives as the text
 * `hello` and `{"a":1}` as an object.
 */
const MARKER = 'herald1';

/** Characters a connection id is made of (base64url, `.`): written into JSON as they are. */
const PLAIN_ID = /^[A-Za-z0-9_.-]+$/;

export function encodeMessage(json: string, meta: PublicationMeta): string {
  if (meta.from === undefined && meta.offset === undefined && meta.event === undefined) return `${MARKER}\n${json}`;
  // The common case, a client's publication (meta is its connection id alone), without building
  // and serializing an object per publication: the same bytes JSON.stringify({ from }) writes.
  if (meta.offset === undefined && meta.event === undefined && meta.epoch === undefined && meta.from !== undefined && PLAIN_ID.test(meta.from)) {
    return `${MARKER} {"from":"${meta.from}"}\n${json}`;
  }
  return `${MARKER} ${JSON.stringify(meta)}\n${json}`;
}

export function decodeMessage(channel: string, payload: string): Publication {
  if (payload.startsWith(MARKER)) {
    const next = payload.charCodeAt(MARKER.length);
    if (next === 10 /* \n */) return new Publication(channel, payload.slice(MARKER.length + 1));
    if (next === 32 /* space */) {
      const newline = payload.indexOf('\n');
      if (newline > 0) {
        try {
          const meta = readPlainMeta(payload, MARKER.length + 1, newline) ?? (JSON.parse(payload.slice(MARKER.length + 1, newline)) as PublicationMeta);
          return new Publication(channel, payload.slice(newline + 1), meta);
        } catch {
          // Not ours after all: fall through and treat it as a foreign message.
        }
      }
    }
  }
  return new Publication(channel, isJson(payload) ? payload : JSON.stringify(payload));
}

/**
 * Filled by readPlainMeta for the Publication constructor, which copies its fields at once: one
 * object for every message instead of one per message.
 */
const plainMeta: { from: string | undefined; offset: number | undefined; epoch: string | undefined; event: string | undefined } = {
  from: undefined,
  offset: undefined,
  epoch: undefined,
  event: undefined,
};

/**
 * Reads the metadata between `start` and `end` without JSON.parse when it has the form Herald
 * itself writes: a flat object of `offset` (digits) and `from`, `epoch`, `event` (strings without
 * escapes), e.g. `{"offset":12,"epoch":"Vq3xAa1","from":"k2b9.1f"}`. Anything else gives
 * undefined and is left to JSON.parse. Every publication from Redis carries this, so the parse
 * was a cost per message on every process.
 */
function readPlainMeta(payload: string, start: number, end: number): PublicationMeta | undefined {
  plainMeta.from = plainMeta.offset = plainMeta.epoch = plainMeta.event = undefined;
  let i = start;
  if (payload.charCodeAt(i++) !== 123 /* { */) return undefined;
  for (;;) {
    if (payload.charCodeAt(i++) !== 34 /* " */) return undefined;
    const keyEnd = payload.indexOf('"', i);
    if (keyEnd === -1 || keyEnd >= end || payload.charCodeAt(keyEnd + 1) !== 58 /* : */) return undefined;
    const key = payload.slice(i, keyEnd);
    i = keyEnd + 2;
    if (key === 'offset') {
      if (plainMeta.offset !== undefined) return undefined;
      let offset = 0;
      const digits = i;
      for (let c = payload.charCodeAt(i); c >= 48 && c <= 57; c = payload.charCodeAt(++i)) offset = offset * 10 + (c - 48);
      // Leading zeros are not JSON, and past 15 digits the sum may round: both go to JSON.parse.
      if (i === digits || i - digits > 15 || (payload.charCodeAt(digits) === 48 && i - digits > 1)) return undefined;
      plainMeta.offset = offset;
    } else if (key === 'from' || key === 'epoch' || key === 'event') {
      if (plainMeta[key] !== undefined || payload.charCodeAt(i++) !== 34 /* " */) return undefined;
      const valueEnd = payload.indexOf('"', i);
      if (valueEnd === -1 || valueEnd >= end) return undefined;
      const value = payload.slice(i, valueEnd);
      // An escape or a control character inside: JSON.parse decides what it means.
      if (!PLAIN_VALUE.test(value)) return undefined;
      plainMeta[key] = value;
      i = valueEnd + 1;
    } else {
      return undefined;
    }
    const next = payload.charCodeAt(i++);
    if (next === 125 /* } */) return i === end ? (plainMeta as PublicationMeta) : undefined;
    if (next !== 44 /* , */) return undefined;
  }
}

/** Printable ASCII but `"` and the backslash: a JSON string of these means what it spells. */
const PLAIN_VALUE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
