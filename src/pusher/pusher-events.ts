/**
 * What happens on Pusher channels that the Pusher protocol reports to apps by webhook. Every such
 * event is raised through one PusherEvents, so webhook delivery (or anything else) subscribes in
 * one place. `channel` is the Pusher name.
 */
export type PusherEvent =
  | { name: 'channel_occupied' | 'channel_vacated'; appId: string; channel: string }
  | { name: 'member_added' | 'member_removed'; appId: string; channel: string; userId: string }
  | { name: 'client_event'; appId: string; channel: string; event: string; data: unknown; socketId: string; userId?: string };

export type PusherEventListener = (event: PusherEvent) => void;

export class PusherEvents {
  readonly #listeners: PusherEventListener[] = [];

  /** Calls `listener` with every event from now on; a listener that throws does not stop the others. */
  onEvent(listener: PusherEventListener): void {
    this.#listeners.push(listener);
  }

  emit(event: PusherEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the protocol goes on.
      }
    }
  }
}
