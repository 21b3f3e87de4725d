import { randomUUID } from 'node:crypto';
import type { Publication } from '../channels/publication.ts';
import type { Broker, PublicationSink } from '../broker/broker.ts';
import { CloseCode } from '../shared/error-table.ts';
import type { Connection } from '../transport/connection.ts';

/** A command every process of the cluster carries out on its own connections. */
export type AdminCommand =
  | { type: 'disconnect-user'; user: string }
  /** Every process answers on `replyTo` with its local subscriber count of each channel. */
  | { type: 'count-subscribers'; channels: string[]; replyTo: string };

/** One process's answer to `count-subscribers`. */
interface CountReply {
  node: string;
  counts: number[];
}

/** Subscribers of channels across the cluster, as far as the processes answered. */
export interface SubscriberCounts {
  /** Per channel, in the order asked: the sum over the processes that answered. */
  counts: number[];
  /** Processes that answered in time. */
  answered: number;
  /** Processes listed as live when asked. */
  expected: number;
}

/** The reason sent with `CloseCode.DISCONNECTED_BY_ADMIN`. */
export const DISCONNECTED_REASON = 'Disconnected by an administrator';

export interface AdminCommandsOptions {
  broker: Broker;
  /** This process's id, in its answers. */
  node: string;
  connections: () => Iterable<Connection>;
  /** This process's subscribers of a channel. */
  localSubscribers: (channel: string) => number;
}

/**
 * Cluster-wide admin commands: published through the broker on the reserved channel `#admin`
 * (`#` is outside the client channel alphabet, so no client can subscribe or publish to it), which
 * every process subscribes to. Answers, where a command has them, come back on a one-off
 * `#admin-reply:<uuid>` channel that only the asking process subscribes to, and only while it
 * waits. Like the delivery canary, these channels bypass the subscriber registry and the
 * publisher: they count as no channel and no publication.
 */
export class AdminCommands {
  static readonly CHANNEL = '#admin';
  static readonly REPLY_PREFIX = '#admin-reply:';
  readonly #options: AdminCommandsOptions;
  /** Open requests by reply channel. */
  readonly #waiting = new Map<string, (reply: CountReply) => void>();

  constructor(options: AdminCommandsOptions) {
    this.#options = options;
  }

  /** Wraps the broker's sink: commands and answers are taken out here, everything else goes on to `next`. */
  sink(next: PublicationSink): PublicationSink {
    return (publication) => {
      if (publication.channel === AdminCommands.CHANNEL) this.#received(publication);
      else if (publication.channel.startsWith(AdminCommands.REPLY_PREFIX)) this.#answered(publication);
      else next(publication);
    };
  }

  /** Subscribes `#admin`; call after the broker started. */
  start(): Promise<void> {
    return this.#options.broker.subscribe(AdminCommands.CHANNEL);
  }

  /** Closes every connection of `user` on every process; resolves once the broker has the command. */
  async disconnectUser(user: string): Promise<void> {
    await this.#publish({ type: 'disconnect-user', user });
  }

  /**
   * Asks every process for its subscribers of `channels` and adds them up; waits for `expected`
   * answers or `timeoutMs`, whichever comes first, and says how many answered, so that a process
   * that is stuck shows as a short count rather than as a hang.
   */
  async countSubscribers(channels: string[], expected: number, timeoutMs: number): Promise<SubscriberCounts> {
    const counts = channels.map(() => 0);
    if (channels.length === 0) return { counts, answered: 0, expected: 0 };
    const replyTo = AdminCommands.REPLY_PREFIX + randomUUID();
    const answeredBy = new Set<string>();
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      this.#waiting.set(replyTo, (reply) => {
        if (answeredBy.has(reply.node) || reply.counts.length !== channels.length) return;
        answeredBy.add(reply.node);
        reply.counts.forEach((count, index) => (counts[index]! += count));
        if (answeredBy.size >= expected) resolve();
      });
    });
    const broker = this.#options.broker;
    try {
      await broker.subscribe(replyTo);
      await this.#publish({ type: 'count-subscribers', channels, replyTo });
      await done;
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(replyTo);
      broker.unsubscribe(replyTo);
    }
    return { counts, answered: answeredBy.size, expected };
  }

  /** Closes this process's connections of `user`; returns how many. */
  disconnectLocal(user: string): number {
    let closed = 0;
    for (const connection of [...this.#options.connections()]) {
      if (connection.user !== user) continue;
      connection.close(CloseCode.DISCONNECTED_BY_ADMIN, DISCONNECTED_REASON);
      closed++;
    }
    return closed;
  }

  async #publish(command: AdminCommand): Promise<void> {
    await this.#options.broker.publish(AdminCommands.CHANNEL, JSON.stringify(command));
  }

  #received(publication: Publication): void {
    let command: AdminCommand;
    try {
      command = JSON.parse(publication.json) as AdminCommand;
    } catch {
      return;
    }
    if (command?.type === 'disconnect-user' && typeof command.user === 'string') this.disconnectLocal(command.user);
    else if (command?.type === 'count-subscribers' && Array.isArray(command.channels) && typeof command.replyTo === 'string' && command.replyTo.startsWith(AdminCommands.REPLY_PREFIX)) {
      const reply: CountReply = { node: this.#options.node, counts: command.channels.map((channel) => (typeof channel === 'string' ? this.#options.localSubscribers(channel) : 0)) };
      // An answer that cannot be sent (Redis down) leaves the asker one answer short, which it reports.
      this.#options.broker.publish(command.replyTo, JSON.stringify(reply)).catch(() => {});
    }
  }

  #answered(publication: Publication): void {
    const waiting = this.#waiting.get(publication.channel);
    if (waiting === undefined) return;
    try {
      const reply = JSON.parse(publication.json) as CountReply;
      if (typeof reply?.node === 'string' && Array.isArray(reply.counts) && reply.counts.every((count) => Number.isInteger(count) && count >= 0)) waiting(reply);
    } catch {
      // Not an answer of ours: ignored.
    }
  }
}
