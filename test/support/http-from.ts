import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpReply {
  status: number;
  body: any;
  location?: string;
}

export interface HttpFromOptions {
  method?: string;
  localAddress?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** For https: the CA that signed the server's certificate, and the name to verify it for. */
  ca?: string;
  servername?: string;
}

/**
 * An HTTP(S) request with a chosen local address (`127.0.0.2`: on Linux all of 127.0.0.0/8 is this
 * machine) and headers, for tests of who Herald thinks a client is.
 */
export function httpFrom(url: string, options: HttpFromOptions = {}): Promise<HttpReply> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        localAddress: options.localAddress,
        ca: options.ca,
        servername: options.servername,
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
          const location = response.headers.location;
          resolve({ status: response.statusCode ?? 0, body: parsed, ...(location === undefined ? {} : { location }) });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
