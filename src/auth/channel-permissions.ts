import { isValidChannelName, namespaceOf } from '../channels/channel-name.ts';
import type { Namespaces } from '../channels/namespace.ts';
import { ConfigError } from '../config.ts';
import { Errors, HeraldError } from '../errors.ts';
import type { Refusals } from '../transport/refusals.ts';

/**
 * Who may do something on a channel:
 * - `'anyone'`: every connection, anonymous ones included;
 * - `'authenticated'`: connections whose token named a user (`sub`);
 * - `'owner'`: only the user the channel is named after: the rest of the name after the namespace's
 *   colon, so `user:42` belongs to user `42` and `dm:alice` to user `alice`;
 * - `{ claim: 'channels' }`: connections whose JWT has that claim, an array listing the channel
 *   (`["vip:lounge"]`) or a prefix of it ending in `*` (`["vip:*"]`).
 */
export type ChannelAccess = 'anyone' | 'authenticated' | 'owner' | { claim: string };

/** The permission part of a namespace's options (see NamespaceOptions). */
export interface ChannelRules {
  /** Who may subscribe from a client. Default `'anyone'`. */
  subscribe?: ChannelAccess;
  /**
   * Whether clients may publish: `true` (default) lets whoever may subscribe publish, `false` lets
   * no client publish (server code and the HTTP API still can), or a rule of its own.
   */
  publish?: boolean | ChannelAccess;
  /** Who may read the channel's history. Default: the `subscribe` rule. */
  readHistory?: ChannelAccess;
  /** Who may read the channel's presence. Default: the `subscribe` rule. */
  readPresence?: ChannelAccess;
  /**
   * A field of published data that names its sender, e.g. `'from'`. When set, a client may
   * publish only a JSON object whose field is the connection's own user, so no one can write in
   * another user's name (and anonymous connections cannot publish). Server code and the HTTP API
   * are trusted and not checked. Default: none.
   */
  sender?: string;
}

/** The identity a permission is decided on: a Connection, after authentication. */
export interface ChannelActor {
  readonly user: string | undefined;
  readonly claims: Readonly<Record<string, unknown>> | undefined;
}

type Action = 'subscribe' | 'publish' | 'readHistory' | 'readPresence';

const VERBS: Record<Action, string> = {
  subscribe: 'subscribe to',
  publish: 'publish to',
  readHistory: 'read the history of',
  readPresence: 'read the presence of',
};

/**
 * The one permission check for everything a client asks to do on a channel: the `/ws/...` routes
 * and the `/connect` protocol call it for every client-requested subscribe, publish, history and
 * presence read. Server code (`herald.publish`, a route subscribing a socket to a channel the route
 * chose) is trusted and not checked.
 *
 * Each method returns `undefined` when allowed and the HeraldError to report otherwise
 * (`HERALD_ERR_PERMISSION_DENIED`, or `HERALD_ERR_BAD_REQUEST` for an invalid channel name); it
 * never throws, so callers choose between an error reply and a close.
 *
 * @example
 * herald.socket('/ws/:channel', async (socket) => {
 *   const channel = socket.params.channel!;
 *   const refusal = herald.permissions.authorizeSubscribe(socket, channel);
 *   if (refusal) throw refusal; // closes with 1008 and the reason
 *   await socket.subscribe(channel);
 * });
 */
export class ChannelPermissions {
  readonly #namespaces: Namespaces;
  readonly #refusals: Refusals | undefined;

  constructor(namespaces: Namespaces, refusals?: Refusals) {
    this.#namespaces = namespaces;
    this.#refusals = refusals;
  }

  authorizeSubscribe(actor: ChannelActor, channel: string): HeraldError | undefined {
    return this.#authorize(actor, channel, 'subscribe');
  }

  /**
   * `data` is what the client publishes: a namespace with a `sender` rule refuses data that does
   * not name the connection's user in that field (and refuses when `data` is not given).
   */
  authorizePublish(actor: ChannelActor, channel: string, data?: unknown): HeraldError | undefined {
    if (!isValidChannelName(channel)) return invalidName(channel);
    // One namespace lookup for both the publish rule and the sender rule.
    const rules = this.#namespaces.forChannel(channel);
    const refusal = this.#decide(actor, channel, 'publish', rules);
    if (refusal !== undefined) return refusal;
    const field = rules?.sender;
    if (field === undefined || namesSender(data, field, actor.user)) return undefined;
    this.#refusals?.record('permission-denied', { user: actor.user, action: 'publish', channel, sender: field }, 'forged or missing sender');
    return new HeraldError(
      Errors.PERMISSION_DENIED,
      actor.user === undefined
        ? `Not allowed to publish to ${channel} anonymously`
        : `Not allowed to publish to ${channel} in another name: the data must be an object whose "${field}" is "${actor.user}"`,
    );
  }

  authorizeHistory(actor: ChannelActor, channel: string): HeraldError | undefined {
    return this.#authorize(actor, channel, 'readHistory');
  }

  authorizePresence(actor: ChannelActor, channel: string): HeraldError | undefined {
    return this.#authorize(actor, channel, 'readPresence');
  }

  #authorize(actor: ChannelActor, channel: string, action: Action): HeraldError | undefined {
    if (!isValidChannelName(channel)) return invalidName(channel);
    return this.#decide(actor, channel, action, this.#namespaces.forChannel(channel));
  }

  #decide(actor: ChannelActor, channel: string, action: Action, rules: ChannelRules | undefined): HeraldError | undefined {
    const subscribe = rules?.subscribe ?? 'anyone';
    let access: ChannelAccess | false;
    if (action === 'publish') {
      const publish = rules?.publish ?? true;
      access = publish === true ? subscribe : publish;
    } else {
      access = rules?.[action] ?? subscribe;
    }
    if (access !== false && allows(access, actor, channel)) return undefined;
    this.#refusals?.record('permission-denied', { user: actor.user, action, channel }, 'channel permission denied');
    return new HeraldError(Errors.PERMISSION_DENIED, `Not allowed to ${VERBS[action]} ${channel}`);
  }
}

function invalidName(channel: unknown): HeraldError {
  return new HeraldError(Errors.BAD_REQUEST, `Invalid channel name ${JSON.stringify(String(channel).slice(0, 50))}`);
}

function allows(access: ChannelAccess, actor: ChannelActor, channel: string): boolean {
  if (access === 'anyone') return true;
  if (actor.user === undefined) return false;
  if (access === 'authenticated') return true;
  if (access === 'owner') return actor.user === channel.slice(namespaceOf(channel).length + 1);
  const granted = actor.claims?.[access.claim];
  if (!Array.isArray(granted)) return false;
  for (const entry of granted) {
    if (typeof entry !== 'string') continue;
    if (entry === channel) return true;
    if (entry.endsWith('*') && channel.startsWith(entry.slice(0, -1))) return true;
  }
  return false;
}

/** Whether `data` is an object whose `field` is `user` (a signed-in user). */
function namesSender(data: unknown, field: string, user: string | undefined): boolean {
  if (user === undefined || typeof data !== 'object' || data === null || Array.isArray(data)) return false;
  return Object.hasOwn(data, field) && (data as Record<string, unknown>)[field] === user;
}

const RULE_FIELDS = new Set(['subscribe', 'publish', 'readHistory', 'readPresence', 'sender']);

/** Validates rules read from configuration (HERALD_NAMESPACES), naming the faulty field. */
export function checkChannelRules(namespace: string, rules: unknown): asserts rules is ChannelRules {
  const where = `namespaces.${namespace || '""'}`;
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) throw new ConfigError(`${where} must be an object`);
  for (const [field, value] of Object.entries(rules)) {
    if (!RULE_FIELDS.has(field)) throw new ConfigError(`${where}.${field} is not a permission option (${[...RULE_FIELDS].join(', ')})`);
    if (field === 'publish' && typeof value === 'boolean') continue;
    if (field === 'sender') {
      if (typeof value !== 'string' || value === '') throw new ConfigError(`${where}.sender must be the name of a field, e.g. "from"`);
      continue;
    }
    if (!isChannelAccess(value)) {
      throw new ConfigError(`${where}.${field} must be "anyone", "authenticated", "owner" or {"claim": "<name>"}`);
    }
  }
}

function isChannelAccess(value: unknown): value is ChannelAccess {
  if (value === 'anyone' || value === 'authenticated' || value === 'owner') return true;
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    typeof (value as { claim?: unknown }).claim === 'string' &&
    (value as { claim: string }).claim !== ''
  );
}
