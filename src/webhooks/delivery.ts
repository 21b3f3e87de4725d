import type { WebhookRequest } from './webhook-target.ts';

/** How long one request may take before it counts as failed. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * POSTs one request to `url`; resolves with undefined when the endpoint accepted it (any 2xx),
 * else with why not (`HTTP 503`, `ECONNREFUSED`, `timed out`). Never rejects.
 */
export async function postWebhook(url: string, request: WebhookRequest): Promise<string | undefined> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      // Exactly `application/json`, no charset: the Pusher server libraries compare it as a whole.
      headers: { 'content-type': 'application/json', 'user-agent': 'Herald-Webhooks', ...request.headers },
      body: request.body,
      // A redirect is not an answer: the endpoint is misconfigured, and following it would send
      // the event (and its signature) somewhere else.
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    await response.body?.cancel().catch(() => {});
    return response.status >= 200 && response.status < 300 ? undefined : `HTTP ${response.status}`;
  } catch (error) {
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timed out';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? String(error);
  }
}
