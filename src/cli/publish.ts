import { randomUUID } from 'node:crypto';
import { UsageError } from '../errors.ts';
import type { Command } from './command.ts';
import { configOption, settingsFor } from './load-settings.ts';

export const publish: Command = {
  name: 'publish',
  summary: "Publish a message to a channel through a running server's HTTP API (POST /api/publish).",
  operands: '<channel> <data>',
  options: {
    url: { type: 'string', value: '<url>', description: 'The server (default http://127.0.0.1:<configured port>).' },
    'api-key': { type: 'string', value: '<key>', description: "The server's API key (default HERALD_API_KEY / HERALD_API_KEY_FILE / the file's apiKey)." },
    'idempotency-key': { type: 'string', value: '<key>', description: 'Makes a retry safe: the server publishes one message per key and channel. Generated when not given.' },
    ...configOption,
  },
  details:
    '<data> is taken as JSON when it parses as JSON (42, true, {"a":1}, "quoted"), else as a string.\n' +
    "Prints the server's JSON reply and exits 0 once the broker has the message; otherwise exits 1\n" +
    'naming the cause and printing the idempotency key, so the same command can be retried safely.',
  async run(parsed) {
    const [channel, text, ...extra] = parsed.positionals;
    if (channel === undefined || text === undefined || extra.length > 0) {
      throw new UsageError('herald publish takes a channel and the data: herald publish news \'{"headline": "hi"}\'');
    }
    const { options } = settingsFor(parsed);
    const base = typeof parsed.values.url === 'string' ? parsed.values.url : `http://127.0.0.1:${options.port}`;
    const apiKey = typeof parsed.values['api-key'] === 'string' ? parsed.values['api-key'] : options.apiKey;
    const idempotencyKey = typeof parsed.values['idempotency-key'] === 'string' ? parsed.values['idempotency-key'] : randomUUID();
    const fail = (cause: string): number => {
      console.error(`herald publish: ${cause}\nRetry safely with --idempotency-key ${idempotencyKey}`);
      return 1;
    };
    let url: URL;
    try {
      url = new URL('/api/publish', base);
    } catch {
      throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(base)}`);
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }) },
        body: JSON.stringify({ channel, data: jsonOrText(text), idempotencyKey }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ECONNREFUSED') return fail(`no server at ${url.origin} (connection refused)`);
      if ((error as Error).name === 'TimeoutError') return fail(`${url.origin} did not answer within 10 s; the message may or may not have been published`);
      return fail(`could not reach ${url.origin}: ${code ?? (error as Error).message}`);
    }
    const body = await response.text();
    if (response.ok) {
      console.log(body);
      return 0;
    }
    return fail(`${response.status} ${refusal(response.status, apiKey !== undefined)}: ${errorMessage(body)}`);
  },
};

/** The command-line data as JSON if it parses, else as the string itself. */
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function refusal(status: number, withKey: boolean): string {
  switch (status) {
    case 400:
      return 'the server refused the request as malformed';
    case 401:
      return withKey ? 'the API key was refused' : 'the server requires an API key (--api-key or HERALD_API_KEY)';
    case 403:
      return 'the server answers the API only on its own machine when it has no API key';
    case 503:
      return 'the server cannot reach its broker (Redis) or is shutting down; nothing was published';
    default:
      return 'the server refused to publish';
  }
}

function errorMessage(body: string): string {
  try {
    const reply = JSON.parse(body) as { error?: { code?: string; message?: string } };
    if (reply.error?.message !== undefined) return `${reply.error.code ?? 'error'}: ${reply.error.message}`;
  } catch {
    // Not Herald's JSON error: show the body as it is.
  }
  return body.slice(0, 500);
}
