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
          const meta = JSON.parse(payload.slice(MARKER.length + 1, newline)) as PublicationMeta;
          return new Publication(channel, payload.slice(newline + 1), meta);
        } catch {
          // Not ours after all: fall through and treat it as a foreign message.
        }
      }
    }
  }
  return new Publication(channel, isJson(payload) ? payload : JSON.stringify(payload));
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
