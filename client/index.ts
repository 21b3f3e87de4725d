/**
 * Herald's client SDK, for browsers and Node (docs/client.md). In Node 20, which has no global
 * WebSocket, import from `herald/client/node` instead (same API, backed by the `ws` package).
 */
export { Herald, type ConnectionState, type HeraldClientOptions, type HeraldEvents } from './herald.ts';
export { Subscription, type PublicationContext, type PublicationHandler, type SubscribedEvent, type SubscriptionEvents, type SubscriptionState } from './subscription.ts';
export { ClientErrorCode, HeraldClientError } from './errors.ts';
export type { TaskEvent, TaskEventHandler } from './task-events.ts';
export type { FollowTaskOptions, TaskStatus } from './task-follower.ts';
export type { HistoryEntry, HistoryResult, PresenceClient, PublishResult, SendResult, StreamPosition, UserStatus, UserStatusChange } from './protocol.ts';
export type { MessageHandler, PrivateMessage } from './inbox.ts';
export type { WebSocketConstructor, WebSocketLike } from './transport.ts';
export { backoffDelay } from './backoff.ts';
