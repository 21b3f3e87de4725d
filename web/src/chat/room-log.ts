import { appendMessage, type ListedMessage } from '../lib/message-list.ts';

/** Where a message came from: the room's channel or this page's inbox. */
export type Stream = 'room' | 'inbox';

/** What was missed while disconnected: the element it follows, and the notice that introduces it. */
interface Outage {
  /** The last element shown when the connection dropped (null: the list was empty). */
  anchor: Element | null;
  notice?: HTMLLIElement;
}

/**
 * The messages list of a room: room messages in the channel's order (by offset), each once,
 * whether it came from history, from the live stream, from recovery after a reconnect, or as the
 * reply to our own publish; private messages and notices where they happened.
 *
 * What a reconnect recovers was said while this page was away, so it goes where the page went
 * away, under a notice saying so, above whatever happened here since (our own messages typed
 * while reconnecting). The room and the inbox are recovered separately, each in its own order;
 * their messages are merged by the time their senders wrote them (`at`).
 */
export class RoomLog {
  readonly #list: HTMLElement;
  #shown = new Map<number, HTMLLIElement>();
  #outage: Outage | undefined;

  constructor(list: HTMLElement) {
    this.#list = list;
  }

  has(offset: number): boolean {
    return this.#shown.has(offset);
  }

  /**
   * Shows a room message at its place among the others; false if it is already shown. A live
   * message goes at the end (or before a later one already shown); a `recovered` one (missed while
   * disconnected) goes with the others recovered, where the page went away.
   */
  room(offset: number, message: ListedMessage, recovered?: { at: number | undefined }): boolean {
    if (this.#shown.has(offset)) return false;
    const item = appendMessage(this.#list, { ...message, attributes: { ...message.attributes, 'data-offset': String(offset) } });
    this.#shown.set(offset, item);
    if (recovered !== undefined) this.#placeRecovered(item, 'room', recovered.at);
    else this.place(offset, item);
    return true;
  }

  /** Gives an element (our own message, shown while it was being sent) its offset and its place. */
  place(offset: number, item: HTMLLIElement): void {
    item.dataset.offset = String(offset);
    this.#shown.set(offset, item);
    let next: HTMLLIElement | undefined;
    for (const [other, element] of this.#shown) {
      if (other > offset && (next === undefined || Number(next.dataset.offset) > other)) next = element;
    }
    if (next !== undefined) this.#list.insertBefore(item, next);
    else this.#list.append(item);
  }

  /** A private message to this page, recovered after a reconnect: among the others recovered. */
  recoveredPrivate(message: ListedMessage, at: number | undefined): HTMLLIElement {
    const item = appendMessage(this.#list, message);
    this.#placeRecovered(item, 'inbox', at);
    return item;
  }

  /** The connection dropped: what is recovered later goes after what is shown now. */
  connectionLost(): void {
    if (this.#outage !== undefined && this.#outage.notice === undefined) return; // still the same outage
    this.#outage = { anchor: this.#list.lastElementChild };
  }

  /**
   * Shows `text` where the messages missed during the outage begin (once per outage), and
   * returns it; what is recovered goes right after it.
   */
  recoveryNotice(text: string): HTMLLIElement {
    const outage = (this.#outage ??= { anchor: this.#list.lastElementChild });
    if (outage.notice !== undefined) return outage.notice;
    const notice = appendMessage(this.#list, { kind: 'notice', text });
    const { anchor } = outage;
    if (anchor === null) this.#list.prepend(notice);
    else if (anchor.isConnected) anchor.after(notice);
    outage.notice = notice;
    return notice;
  }

  /**
   * Puts a recovered message after the recovery notice: after the others of its stream (each
   * stream arrives in its own order) and after those of the other stream written before it.
   */
  #placeRecovered(item: HTMLLIElement, stream: Stream, at: number | undefined): void {
    item.dataset.recovered = stream;
    if (at !== undefined) item.dataset.at = String(at);
    let after: Element = this.recoveryNotice('Reconnected: messages sent meanwhile are shown.');
    let candidate = after.nextElementSibling;
    let lastOfStream: Element | undefined;
    for (let scan = candidate; scan !== null && scan !== item && scan instanceof HTMLElement && scan.dataset.recovered !== undefined; scan = scan.nextElementSibling) {
      if (scan.dataset.recovered === stream) lastOfStream = scan;
    }
    if (lastOfStream !== undefined) after = lastOfStream;
    for (candidate = after.nextElementSibling; candidate instanceof HTMLElement && candidate !== item && candidate.dataset.recovered !== undefined; candidate = candidate.nextElementSibling) {
      const theirs = candidate.dataset.at === undefined ? Infinity : Number(candidate.dataset.at);
      if (at === undefined || theirs > at) break;
      after = candidate;
    }
    after.after(item);
  }

  /** Anything else: a private message or a notice, at the end. */
  append(message: ListedMessage): HTMLLIElement {
    return appendMessage(this.#list, message);
  }

  /**
   * The channel's history was lost on the server (a new epoch): offsets start again, so what is
   * shown stays but no longer takes part in ordering and de-duplication.
   */
  newEpoch(): void {
    for (const item of this.#shown.values()) delete item.dataset.offset;
    this.#shown = new Map();
  }

  clear(): void {
    this.#shown = new Map();
    this.#outage = undefined;
    this.#list.replaceChildren();
  }
}
