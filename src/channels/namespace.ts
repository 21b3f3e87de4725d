import type { ChannelRules } from '../auth/channel-permissions.ts';
import { namespaceOf } from './channel-name.ts';

/** How much of a channel's past is kept for recovery and the `history` op. */
export interface HistoryOptions {
  /** Publications kept per channel (the newest ones; trimming is approximate with Redis). */
  size: number;
  /** Seconds the history is kept after the channel's last publication. */
  ttlSeconds: number;
}

/** What a channel keeps unless its namespace says otherwise: the last 100 publications for 5 minutes. */
export const DEFAULT_HISTORY: Readonly<HistoryOptions> = Object.freeze({ size: 100, ttlSeconds: 300 });

/**
 * Behaviour shared by every channel whose name starts with `<namespace>:`, including who may
 * subscribe, publish and read history and presence (ChannelRules, checked by ChannelPermissions).
 */
export interface NamespaceOptions extends ChannelRules {
  /**
   * Wraps data published through Herald (sockets, HTTP API, server code) before it is sent, e.g.
   * `(data) => ({ type: 'user_event', data })`. Messages published straight to Redis by other
   * programs are delivered as they are.
   */
  envelope?: (data: unknown) => unknown;
  /**
   * History kept for recovery after a reconnect and for the `history` op, or `false` for none.
   * Default {@link DEFAULT_HISTORY} (every namespace keeps history unless it opts out).
   */
  history?: HistoryOptions | false;
  /** Whether `/connect` tracks who is subscribed (presence query, join and leave pushes). Default false. */
  presence?: boolean;
}

/**
 * What publishing on a channel needs from its namespace, found with one lookup per publication:
 * the options (envelope), the history kept, and the /metrics label.
 */
export interface ChannelSettings {
  readonly options: NamespaceOptions | undefined;
  readonly history: HistoryOptions | undefined;
  readonly label: string;
}

/** Undeclared namespaces share these (never one entry per name: clients choose the names). */
const UNDECLARED: ChannelSettings = Object.freeze({ options: undefined, history: DEFAULT_HISTORY, label: 'other' });
const UNDECLARED_RESERVED: ChannelSettings = Object.freeze({ options: undefined, history: undefined, label: 'other' });
const DEFAULT_NAMESPACE: ChannelSettings = Object.freeze({ options: undefined, history: DEFAULT_HISTORY, label: '' });
const DEFAULT_NAMESPACE_RESERVED: ChannelSettings = Object.freeze({ options: undefined, history: undefined, label: '' });

/** The namespace options in force, looked up by channel name. */
export class Namespaces {
  readonly #byName = new Map<string, NamespaceOptions>();
  /** Each declared namespace's settings, for ordinary and for server-internal `#` channels. */
  readonly #settings = new Map<string, { plain: ChannelSettings; reserved: ChannelSettings }>();

  define(name: string, options: NamespaceOptions): void {
    const merged = { ...this.#byName.get(name), ...options };
    if (merged.history) checkHistory(name, merged.history);
    this.#byName.set(name, merged);
    const history = merged.history === false ? undefined : (merged.history ?? DEFAULT_HISTORY);
    this.#settings.set(name, {
      plain: Object.freeze({ options: merged, history, label: name }),
      reserved: Object.freeze({ options: merged, history: undefined, label: name }),
    });
  }

  forChannel(channel: string): NamespaceOptions | undefined {
    return this.#byName.get(namespaceOf(channel));
  }

  /**
   * Everything below in one lookup: the options, the history (server-internal `#` channels never
   * keep any) and the /metrics label of `channel`.
   */
  settingsOf(channel: string): ChannelSettings {
    const namespace = namespaceOf(channel);
    const reserved = channel.charCodeAt(0) === 35; /* # */
    const declared = this.#settings.get(namespace);
    if (declared !== undefined) return reserved ? declared.reserved : declared.plain;
    if (namespace === '') return reserved ? DEFAULT_NAMESPACE_RESERVED : DEFAULT_NAMESPACE;
    return reserved ? UNDECLARED_RESERVED : UNDECLARED;
  }

  /**
   * The `namespace` label of `channel` in /metrics, from a bounded set: a declared namespace's
   * name, `''` for channels without a colon, and `other` for everything else (undeclared
   * namespaces and server-internal `#` channels), so clients cannot create label values.
   */
  metricLabel(channel: string): string {
    return this.settingsOf(channel).label;
  }

  /** The history `channel` keeps, or undefined when it keeps none (server-internal `#` channels never do). */
  historyOf(channel: string): HistoryOptions | undefined {
    return this.settingsOf(channel).history;
  }

  presenceOf(channel: string): boolean {
    return this.forChannel(channel)?.presence === true;
  }
}

function checkHistory(namespace: string, history: HistoryOptions): void {
  const ok = (n: number, max: number): boolean => Number.isInteger(n) && n >= 1 && n <= max;
  if (!ok(history.size, 100_000) || !ok(history.ttlSeconds, 30 * 24 * 3600)) {
    throw new TypeError(`namespace ${JSON.stringify(namespace)}: history needs an integer size 1-100000 and ttlSeconds 1-2592000`);
  }
}
