import type { Cluster, Redis } from 'ioredis';

/**
 * Shutdown steps bounded by one deadline (ms since the epoch). Closing anything over Redis can wait
 * for a reply that never comes (Redis paused, or down with a connection that retries forever), so
 * each step is raced against the deadline and whatever it was waiting on is then dropped.
 */

/** Whether `promise` settles (either way) before `deadline`; it is left to settle unobserved otherwise. */
export async function settlesBefore(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  if (deadline === Number.POSITIVE_INFINITY) return promise.then(() => true, () => true);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * QUIT (so Redis sees a clean goodbye and pending replies arrive) if the connection is up and
 * Redis answers before `deadline`, then drop the connection either way: a plain `quit()` waits for
 * its reply, which a paused Redis holds back for as long as the pause lasts.
 */
export async function quitBefore(redis: Redis | Cluster, deadline: number): Promise<void> {
  if (redis.status === 'ready') await settlesBefore(redis.quit(), deadline);
  redis.disconnect();
}
