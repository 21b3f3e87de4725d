import type { ChannelRules } from '../auth/channel-permissions.ts';
import { namespaceOf } from './channel-name.ts';

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
}

/** The namespace options in force, looked up by channel name. */
export class Namespaces {
  readonly #byName = new Map<string, NamespaceOptions>();

  define(name: string, options: NamespaceOptions): void {
    this.#byName.set(name, { ...this.#byName.get(name), ...options });
  }

  forChannel(channel: string): NamespaceOptions | undefined {
    return this.#byName.get(namespaceOf(channel));
  }
}
