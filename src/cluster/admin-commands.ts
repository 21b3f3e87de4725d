import type { Publication } from '../channels/publication.ts';
import type { Broker, PublicationSink } from '../broker/broker.ts';
import { CloseCode } from '../shared/error-table.ts';
import type { Connection } from '../transport/connection.ts';

/** A command every process of the cluster carries out on its own connections. */
export interface AdminCommand {
  type: 'disconnect-user';
  user: string;
}

/** The reason sent with `CloseCode.DISCONNECTED_BY_ADMIN`. */
export const DISCONNECTED_REASON = 'Disconnected by an administrator';

/**
 * Cluster-wide admin commands: published through the broker on the reserved channel `#admin`
 * (`#` is outside the client channel alphabet, so no client can subscribe or publish to it), which
 * every process subscribes to. Like the delivery canary, the channel bypasses the subscriber
 * registry and the publisher: it counts as no channel and no publication.
 */
export class AdminCommands {
  static readonly CHANNEL = '#admin';
  readonly #broker: Broker;
  readonly #connections: () => Iterable<Connection>;

  constructor(broker: Broker, connections: () => Iterable<Connection>) {
    this.#broker = broker;
    this.#connections = connections;
  }

  /** Wraps the broker's sink: commands are taken out here, everything else goes on to `next`. */
  sink(next: PublicationSink): PublicationSink {
    return (publication) => (publication.channel === AdminCommands.CHANNEL ? this.#received(publication) : next(publication));
  }

  /** Subscribes `#admin`; call after the broker started. */
  start(): Promise<void> {
    return this.#broker.subscribe(AdminCommands.CHANNEL);
  }

  /** Closes every connection of `user` on every process; resolves once the broker has the command. */
  async disconnectUser(user: string): Promise<void> {
    const command: AdminCommand = { type: 'disconnect-user', user };
    await this.#broker.publish(AdminCommands.CHANNEL, JSON.stringify(command));
  }

  /** Closes this process's connections of `user`; returns how many. */
  disconnectLocal(user: string): number {
    let closed = 0;
    for (const connection of [...this.#connections()]) {
      if (connection.user !== user) continue;
      connection.close(CloseCode.DISCONNECTED_BY_ADMIN, DISCONNECTED_REASON);
      closed++;
    }
    return closed;
  }

  #received(publication: Publication): void {
    let command: AdminCommand;
    try {
      command = JSON.parse(publication.json) as AdminCommand;
    } catch {
      return;
    }
    if (command?.type === 'disconnect-user' && typeof command.user === 'string') this.disconnectLocal(command.user);
  }
}
