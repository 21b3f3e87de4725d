import { ReplyError } from 'ioredis';
import { Errors, HeraldError } from '../errors.ts';
import type { RedisHistory } from '../history/redis-history.ts';
import { NotWrittenError } from '../history/redis-publish-batch.ts';
import type { PublishOptions, PublishResult } from './broker.ts';
import type { PublishDeadlines } from './publish-deadlines.ts';
import { encodeMessage } from './redis-wire.ts';

/** ioredis' rejection of a command it did not write (the connection is not ready; no offline queue). */
const NOT_WRITTEN = "Stream isn't writeable";

/**
 * One publish through Redis, single or cluster, within the publish deadline: through the history's
 * per-turn batches (a bare PUBLISH / SPUBLISH when nothing is kept, the history script otherwise),
 * which keep the publications on one channel in order whether they are kept or not. The answer
 * must be true: "not published" (BROKER_UNAVAILABLE) only when Redis cannot have executed the
 * command; a command written and then not answered is PUBLISH_OUTCOME_UNKNOWN.
 */
export async function publishThroughRedis(
  channel: string,
  json: string,
  options: PublishOptions,
  via: { history: RedisHistory; deadlines: PublishDeadlines },
): Promise<PublishResult> {
  const history = options.event === undefined ? options.history : undefined;
  // A kept publication's message is built by the script, which knows its offset.
  const message = history === undefined ? encodeMessage(json, { from: options.from, event: options.event }) : '';
  try {
    const result = await via.deadlines.track(via.history.publish(channel, json, message, options.from, history, options.idempotencyKey));
    if (result.position === undefined && !result.duplicate) return { reached: result.reached };
    return { reached: result.reached, ...result.position, ...(result.duplicate ? { duplicate: true } : {}) };
  } catch (error) {
    if (error instanceof HeraldError) throw error;
    if (error instanceof ReplyError || error instanceof NotWrittenError || (error instanceof Error && error.message.startsWith(NOT_WRITTEN))) throw notPublished(error);
    // Written, then no reply: a timeout, or the connection dropped with the command in flight.
    throw new HeraldError(Errors.PUBLISH_OUTCOME_UNKNOWN, undefined, { cause: error });
  }
}

export function notPublished(cause?: unknown): HeraldError {
  return new HeraldError(Errors.BROKER_UNAVAILABLE, 'The broker (Redis) is not reachable; nothing was published', { cause });
}
