/** Herald's public API for application code. */
export { createHerald, Herald, type HeraldAddress } from './herald.ts';
export type { HeraldOptions } from './config.ts';
export type { Connection as HeraldSocket, SubscribeOptions } from './transport/connection.ts';
export type { SocketHandler, SocketRouteOptions } from './transport/socket-server.ts';
export type { ChannelAccess, ChannelRules, ChannelPermissions } from './auth/channel-permissions.ts';
export type { RouteAuthentication } from './auth/connection-authenticator.ts';
export type { HistoryOptions, NamespaceOptions } from './channels/namespace.ts';
export type { PresenceEntry } from './presence/presence.ts';
export type { PublishResult } from './broker/broker.ts';
export type { TaskClientAccess, TaskContext, TaskHandler, TaskOptions, TaskProgress } from './tasks/task-registry.ts';
export type { TaskState, TaskStatus } from './tasks/task-runner.ts';
export type { TaskEvent } from './tasks/task-channel.ts';
export type { StartTaskOptions, Tasks } from './tasks/tasks.ts';
export type { ScheduleHandler, ScheduleTick } from './schedules/schedule-registry.ts';
export type { ScheduleTiming } from './schedules/schedule-timing.ts';
export { CloseCode, Errors, HeraldError, shouldReconnect } from './errors.ts';
export { installDefaultApp } from './app/default-app.ts';
export type { DefaultAppSettings } from './app/app-settings.ts';
