/**
 * The channel a user's status changes travel on (`status` pushes to the connections that watch the
 * user). `#` keeps it out of reach of client-named channels; who may watch is decided by the rules
 * of the `status` namespace for channel `status:<user>`.
 */
export function statusChannel(user: string): string {
  return `#status:${user}`;
}

/** The channel whose namespace rules say who may read a user's status (`online`, `watch`). */
export function statusRuleChannel(user: string): string {
  return `status:${user}`;
}
