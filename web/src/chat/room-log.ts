import { appendMessage, type ListedMessage } from '../lib/message-list.ts';

/**
 * The messages list of a room: room messages in the channel's order (by offset), each once,
 * whether it came from history, from the live stream, from recovery after a reconnect, or as the
 * reply to our own publish; private messages and notices where they happened.
 */
export class RoomLog {
  readonly #list: HTMLElement;
  #shown = new Map<number, HTMLLIElement>();

  constructor(list: HTMLElement) {
    this.#list = list;
  }

  has(offset: number): boolean {
    return this.#shown.has(offset);
  }

  /**
   * Shows a room message at its place among the others; false if it is already shown. A live
   * message goes at the end. A `recovered` one (missed while disconnected) goes right after the
   * room message before it, so it stays above what was written here while the connection was down.
   */
  room(offset: number, message: ListedMessage, recovered = false): boolean {
    if (this.#shown.has(offset)) return false;
    const item = appendMessage(this.#list, { ...message, attributes: { ...message.attributes, 'data-offset': String(offset) } });
    this.place(offset, item, recovered);
    return true;
  }

  /** Gives an element (our own message, shown while it was being sent) its offset and its place. */
  place(offset: number, item: HTMLLIElement, recovered = false): void {
    item.dataset.offset = String(offset);
    this.#shown.set(offset, item);
    let next: HTMLLIElement | undefined;
    let previous: HTMLLIElement | undefined;
    for (const [other, element] of this.#shown) {
      if (other > offset && (next === undefined || Number(next.dataset.offset) > other)) next = element;
      if (other < offset && (previous === undefined || Number(previous.dataset.offset) < other)) previous = element;
    }
    if (recovered && previous !== undefined) previous.after(item);
    else if (next !== undefined) this.#list.insertBefore(item, next);
    else this.#list.append(item);
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
    this.#list.replaceChildren();
  }
}
