import { encodeTextFrame } from '../transport/frame.ts';

/** Where a publication came from and where it sits in its channel's history. */
export interface PublicationMeta {
  /** Id of the connection that published it; lets a subscription skip its own messages. */
  from?: string | undefined;
  /** Position in the channel's history (present when the channel keeps history). */
  offset?: number | undefined;
  /** Identifies the history the offset belongs to; changes when that history is lost. */
  epoch?: string | undefined;
  /** Set on presence events: the data is the client that joined or left, not a publication. */
  event?: 'join' | 'leave' | undefined;
}

/**
 * One message on one channel, as it travels from the broker to the local subscribers.
 *
 * The data stays in its JSON text form from publish to socket: it is never parsed and re-encoded
 * per subscriber. Each wire form a subscriber may need (the raw text of `/ws/...` routes, the
 * protocol frame of `/connect`) is encoded at most once per publication per process and cached.
 */
export class Publication {
  readonly channel: string;
  /** The data as JSON text. */
  readonly json: string;
  readonly from: string | undefined;
  readonly offset: number | undefined;
  readonly epoch: string | undefined;
  readonly event: 'join' | 'leave' | undefined;
  #rawFrame: Buffer | undefined;
  #forms: Map<string, Buffer> | undefined;
  /** The text for raw sockets, when known without decoding `json` (a string published here). */
  readonly #text: string | undefined;

  /** `text`, when given, must be what `json` decodes to (a string published as is). */
  constructor(channel: string, json: string, meta: PublicationMeta = {}, text?: string) {
    this.channel = channel;
    this.json = json;
    this.#text = text;
    this.from = meta.from;
    this.offset = meta.offset;
    this.epoch = meta.epoch;
    this.event = meta.event;
  }

  /** The data as raw sockets see it: a JSON string as its text, anything else as JSON. */
  get text(): string {
    if (this.#text !== undefined) return this.#text;
    const json = this.json;
    if (json.charCodeAt(0) !== 34 /* '"' */) return json;
    // A JSON string without a backslash has no escapes: its text is what lies between the quotes.
    // That is the common case (a /ws frame's text, published as a string), and it saves a parse
    // per publication per process on the way to raw sockets.
    if (json.charCodeAt(json.length - 1) === 34 && json.indexOf('\\') === -1) return json.slice(1, -1);
    return JSON.parse(json) as string;
  }

  /** The data parsed. */
  get data(): unknown {
    return JSON.parse(this.json);
  }

  /** The raw-socket frame, encoded on first use and then shared by every subscriber. */
  rawFrame(): Buffer {
    return (this.#rawFrame ??= encodeTextFrame(this.text));
  }

  /**
   * A frame in some other wire form (named by `form`), encoded by `encode` on first use and then
   * shared by every subscriber that asks for the same form.
   */
  frame(form: string, encode: (publication: Publication) => string): Buffer {
    this.#forms ??= new Map();
    let frame = this.#forms.get(form);
    if (frame === undefined) {
      frame = encodeTextFrame(encode(this));
      this.#forms.set(form, frame);
    }
    return frame;
  }
}
