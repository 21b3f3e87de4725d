import { request } from 'node:http';

export interface HttpReply {
  status: number;
  body: any;
}

/**
 * An HTTP request with a chosen local address (`127.0.0.2`: on Linux all of 127.0.0.0/8 is this
 * machine) and headers, for tests of who Herald thinks a client is.
 */
export function httpFrom(url: string, options: { method?: string; localAddress?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<HttpReply> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        localAddress: options.localAddress,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {}
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
