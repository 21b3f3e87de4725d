import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { TaskHandler } from '../tasks/task-registry.ts';
import type { DeadLetters } from './dead-letters.ts';
import { postWebhook } from './delivery.ts';
import type { WebhookEvent, WebhookTarget } from './webhook-target.ts';

export type { WebhookEvent } from './webhook-target.ts';

/** The built-in task that delivers one event to one endpoint (one attempt per run). */
export const WEBHOOK_TASK = 'herald.webhook';
/** Ids of Herald's own tasks start with this; their outcomes are not reported as task events. */
export const BUILT_IN_TASK_ID_PREFIX = 'herald-';

/** Queues a task (Tasks.start): with Redis a BullMQ job any process may run, surviving this one. */
export type StartTask = (name: string, args: unknown, options: { id: string; delayMs?: number }) => Promise<unknown>;

export interface WebhooksOptions {
  /** Where events go, each in its own format (webhook-target.ts). */
  targets: readonly WebhookTarget[];
  deadLetters: DeadLetters;
  startTask: StartTask;
  /** How long an event is retried, from the moment it happened; then it goes to the dead letters. */
  retryForMs: number;
  log: FastifyBaseLogger;
}

interface DeliveryArgs {
  url: string;
  event: WebhookEvent;
  attempt: number;
  /** The target's id; absent in tasks queued before targets had ids, whose id was their URL. */
  target?: string;
}

/** The wait after the first failed attempt; it doubles after each failure, up to MAX_RETRY_DELAY_MS. */
export const FIRST_RETRY_DELAY_MS = 1000;
const MAX_RETRY_DELAY_MS = 5 * 60_000;

/**
 * Signed webhooks to the application's backend. `emit` queues one delivery task per target that
 * receives the event (each target writes its own request: Herald's format, or a Pusher app's);
 * each run is one attempt, and a failed attempt queues the next after an
 * exponential wait (1 s, 2 s, 4 s … 5 min) until `retryForMs` after the event, when the event goes
 * to the dead letters. Deliveries are at least once: the event id lets receivers drop repeats.
 *
 * Any part of the server can emit (the `/connect` users features, another protocol's adapter): the
 * caller makes sure it emits each event once across the cluster.
 *
 * @example
 * await webhooks.emit('order.paid', { order: 42 });
 */
export class Webhooks {
  readonly #options: WebhooksOptions;

  constructor(options: WebhooksOptions) {
    this.#options = options;
  }

  /** Whether any endpoint receives `type` (so callers can skip work nobody wants). */
  wants(type: string): boolean {
    return this.#options.targets.some((target) => target.wants(type));
  }

  /**
   * Sends an event of `type` with `data` (any JSON) to every endpoint that receives it; resolves
   * with the event once its deliveries are queued (undefined when no endpoint wants it). Rejects
   * when the task queue refuses (full, or Redis down): the event is then not sent.
   */
  async emit(type: string, data: unknown, id: string = randomUUID()): Promise<WebhookEvent | undefined> {
    if (!this.wants(type)) return undefined;
    const event: WebhookEvent = { id, type, time: Date.now(), data };
    const { targets } = this.#options;
    const receivers = targets.filter((target) => target.receives(event));
    if (receivers.length === 0) return undefined;
    await Promise.all(receivers.map((target) => this.#queue({ url: target.url, event, attempt: 0, target: target.id }, targets.indexOf(target))));
    return event;
  }

  /** Like `emit`, for events whose loss is only logged (there is no caller to tell). */
  emitLogged(type: string, data: unknown, id?: string): void {
    if (!this.wants(type)) return;
    this.emit(type, data, id).catch((error: unknown) => this.#options.log.warn({ err: error, type }, 'could not queue a webhook event'));
  }

  /** The handler of the built-in delivery task: one attempt, then the next one queued or the dead letter. */
  readonly deliver: TaskHandler<DeliveryArgs> = async ({ url, event, attempt, target: id = url }) => {
    const target = this.#options.targets.find((each) => each.id === id && each.url === url);
    const request = target?.request(event, Date.now());
    const failure = request === undefined ? 'endpoint no longer configured' : await postWebhook(url, request);
    if (failure === undefined) return { delivered: true, attempts: attempt + 1 };
    const delay = Math.min(FIRST_RETRY_DELAY_MS * 2 ** attempt, MAX_RETRY_DELAY_MS);
    if (target === undefined || Date.now() + delay - event.time > this.#options.retryForMs) {
      // What was sent, in the target's format (a Pusher app's endpoint got a Pusher body).
      const sent: unknown = request === undefined ? event : JSON.parse(request.body);
      await this.#options.deadLetters.add({ url, event: sent, attempts: attempt + 1, lastError: failure, failedAt: Date.now() });
      this.#options.log.warn({ url, event: event.id, type: event.type, attempts: attempt + 1, lastError: failure }, 'webhook event given up: see GET /api/webhooks/dead-letters');
      return { delivered: false, attempts: attempt + 1, lastError: failure };
    }
    await this.#queue({ url, event, attempt: attempt + 1, target: target.id }, this.#options.targets.indexOf(target), delay);
    return { delivered: false, attempts: attempt + 1, lastError: failure, retryInMs: delay };
  };

  #queue(args: DeliveryArgs, endpointIndex: number, delayMs?: number): Promise<unknown> {
    // One id per event, endpoint and attempt: queueing it twice (a retried run) delivers once.
    const id = `${BUILT_IN_TASK_ID_PREFIX}webhook-${args.event.id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60)}-${endpointIndex}-${args.attempt}`;
    return this.#options.startTask(WEBHOOK_TASK, args, delayMs === undefined ? { id } : { id, delayMs });
  }
}
