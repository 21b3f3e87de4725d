import type { Publication } from '../channels/publication.ts';
import type { Subscriber } from '../channels/subscriber-registry.ts';
import { Errors, HeraldError } from '../errors.ts';
import type { StreamPosition } from '../history/history.ts';
import type { Connection } from '../transport/connection.ts';
import { compareInboxIds, isInboxId, type InboxMessage } from '../users/inbox.ts';
import { encodeChannelPush, encodeMessagePush, encodeReplayedMessage, encodeStatusPush } from './frames.ts';
import type { PresenceMembership } from './presence-membership.ts';

/**
 * One /connect subscription: delivers the channel's publications as protocol frames, shared by
 * every /connect subscriber on this process.
 *
 * The seam between recovery and the live stream: the subscription is registered (and buffers)
 * BEFORE history is read, so nothing published meanwhile is missed; once the reply with the
 * recovered publications is sent, the buffer is flushed, skipping what the history read already
 * covered (offset <= the position it returned). No gap, no duplicate.
 */
export class ChannelSubscription implements Subscriber {
  readonly channel: string;
  /** Its presence entry, on channels that keep presence. */
  readonly membership: PresenceMembership | undefined;
  /** The client info of its presence entry. */
  info: unknown;
  readonly #connection: Connection;
  #buffer: Publication[] | undefined = [];
  #covered: StreamPosition | undefined;

  constructor(connection: Connection, channel: string, membership: PresenceMembership | undefined) {
    this.#connection = connection;
    this.channel = channel;
    this.membership = membership;
  }

  deliver(publication: Publication): void {
    if (this.#buffer !== undefined) this.#buffer.push(publication);
    else this.#send(publication);
  }

  lost(): void {
    this.#connection.fail(new HeraldError(Errors.GAP_DETECTED));
  }

  /** Starts live delivery: what arrived while subscribing goes out now, minus what `covered` includes. */
  goLive(covered: StreamPosition | undefined): void {
    this.#covered = covered;
    const buffered = this.#buffer ?? [];
    this.#buffer = undefined;
    for (const publication of buffered) this.#send(publication);
  }

  #send(publication: Publication): void {
    if (publication.event !== undefined && this.membership === undefined) return;
    const covered = this.#covered;
    if (covered !== undefined && publication.offset !== undefined && publication.offset <= covered.offset && publication.epoch === covered.epoch) return;
    this.#connection.sendFrame(publication.frame('protocol', encodeChannelPush));
  }
}

/**
 * The connection's private messages (its user's `#user:<id>` channel). Live messages are held back
 * while the stored ones are replayed at connect, then sent, minus the stored ones the replay
 * already carried (an inbox id at or before the last replayed): in order, none twice.
 */
export class InboxSubscription implements Subscriber {
  readonly #connection: Connection;
  #buffer: Publication[] | undefined = [];
  #replayedUpTo: string | undefined;

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  deliver(publication: Publication): void {
    if (this.#buffer !== undefined) this.#buffer.push(publication);
    else this.#connection.sendFrame(publication.frame('protocol-message', encodeMessagePush));
  }

  /** Sends the stored messages (oldest first), then goes live. */
  replayed(messages: readonly InboxMessage[]): void {
    for (const message of messages) this.#connection.send(encodeReplayedMessage(message));
    this.#replayedUpTo = messages.at(-1)?.id;
    const buffered = this.#buffer ?? [];
    this.#buffer = undefined;
    for (const publication of buffered) {
      if (this.#replayedUpTo !== undefined && isReplayed(publication, this.#replayedUpTo)) continue;
      this.#connection.sendFrame(publication.frame('protocol-message', encodeMessagePush));
    }
  }
}

/** Whether a live message is a stored one at or before `upTo` (so the replay carried it). */
function isReplayed(publication: Publication, upTo: string): boolean {
  const id = (publication.data as { inbox?: unknown } | null)?.inbox;
  return isInboxId(id) && compareInboxIds(id, upTo) <= 0;
}

/** The connection's `status` pushes for one watched user (its `#status:<id>` channel). */
export class StatusSubscription implements Subscriber {
  readonly #connection: Connection;
  constructor(connection: Connection) {
    this.#connection = connection;
  }
  deliver(publication: Publication): void {
    this.#connection.sendFrame(publication.frame('protocol-status', encodeStatusPush));
  }
}
