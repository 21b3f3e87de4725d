import { el } from './dom.ts';

export interface ListedMessage {
  /** `mine` and `theirs` are the two sides of a conversation; `notice` is the page talking. */
  kind: 'mine' | 'theirs' | 'notice';
  /** Who said it, shown above the text (omitted for notices). */
  who?: string;
  text: string;
  private?: boolean;
  /** Extra attributes, e.g. a message id that tests and de-duplication can look for. */
  attributes?: Record<string, string>;
}

/** Appends a message to a list and keeps the newest in view (unless the reader scrolled up). */
export function appendMessage(list: HTMLElement, message: ListedMessage): HTMLLIElement {
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const classes = ['msg', message.kind, ...(message.private ? ['private'] : [])].join(' ');
  const item = el('li', { class: classes, ...message.attributes });
  if (message.who !== undefined && message.kind !== 'notice') item.append(el('span', { class: 'who' }, message.who));
  item.append(message.text);
  list.append(item);
  if (atBottom) list.scrollTop = list.scrollHeight;
  return item;
}
