/** The /connect protocol as the SDK sees it (docs/protocol.md is the reference). */
export const PROTOCOL_VERSION = 1;

export interface StreamPosition {
  offset: number;
  epoch: string;
}

export interface PresenceClient {
  connection: string;
  user: string | null;
  info?: unknown;
}

export interface HistoryEntry {
  offset: number;
  data: unknown;
}

export interface SubscribeResult {
  channel: string;
  recoverable: boolean;
  offset?: number;
  epoch?: string;
  recovered?: boolean;
  publications?: HistoryEntry[];
}

export interface PublishResult {
  channel: string;
  offset?: number;
  epoch?: string;
  duplicate?: boolean;
}

export interface HistoryResult {
  channel: string;
  offset: number;
  epoch: string;
  publications: HistoryEntry[];
}

export type ServerFrame =
  | { type: 'welcome'; connection: string; user: string | null; protocol: number; expiresAt?: number }
  | { type: 'reply'; id?: number | string; result?: unknown; error?: { code: string; message: string; retryAfterMs?: number } }
  | { type: 'pub'; channel: string; offset?: number; epoch?: string; data: unknown }
  | { type: 'join' | 'leave'; channel: string; client: PresenceClient }
  | { type: 'message'; from: string | null; data: unknown; inbox?: string; sentAt?: number; replayed?: boolean }
  | ({ type: 'status' } & UserStatusChange)
  | { type: 'disconnect'; reason: string; reconnectAfterMs?: number };

/** A user's online status (`online`, `watchStatus`). */
export interface UserStatus {
  online: boolean;
  /** When the user was last connected (ms since the epoch); null while online or never seen. */
  lastSeen: number | null;
}

/** A watched user's status change (the `status` event). */
export interface UserStatusChange extends UserStatus {
  user: string;
}

/** The reply to `send`: whether the message reached a connection, and whether it was kept. */
export interface SendResult {
  user: string;
  live: boolean;
  stored: boolean;
  /** Its inbox id, when stored. */
  inbox?: string;
  /** The same as `live`. */
  online: boolean;
}
