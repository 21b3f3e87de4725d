import { access, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import { Errors, HeraldError } from '../errors.ts';
import type { Herald } from '../herald.ts';
import { errorReplies } from '../http/reply-schemas.ts';

/** Where web/build.ts puts the pages (git-ignored; `npm start` and `npm test` build it first). */
const DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** The demo pages, each at `/<name>.html` (the index also at `/`). */
const PAGES = ['index', 'chat', 'echo', 'clock', 'task', 'pusher'];

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Built asset names: no slash and no `..`, so nothing outside web/dist/assets can be named. */
const ASSET_NAME = /^[a-z0-9-]+\.(?:js|css|js\.map)$/;

/** Nothing but this server: the pages make no outside request (no CDN, no web fonts). */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The default app's demo pages, served from `root` (web/dist): the index at `/`, each demo at
 * `/<name>.html`, their scripts and style sheet under `/assets/`. Files are read per request,
 * so a rebuild shows without a restart.
 */
export function demoPages(herald: Herald, root: string = DIST): void {
  const send = (reply: FastifyReply, file: string) => sendBuilt(reply, root, file);
  const pageSchema = (summary: string) => ({
    tags: ['demo'],
    summary,
    response: {
      200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } },
      ...errorReplies({ 503: 'The pages are not built (npm run build:web)' }),
    },
  });
  herald.http.get('/', { schema: pageSchema('The index of the demo pages') }, (_request, reply) => send(reply, 'index.html'));
  for (const page of PAGES) herald.http.get(`/${page}.html`, { schema: pageSchema(`The ${page} demo page`) }, (_request, reply) => send(reply, `${page}.html`));
  // The admin page opens only with an API key or an admin claim: its calls (GET /api/nodes, POST
  // /api/publish, /api/admin/*) need one of them, and a page that anyone on the machine could use
  // without a credential would be an open door.
  const adminSchema = pageSchema('The admin page: the nodes of the cluster, publishing to a channel');
  const adminReplies = { ...adminSchema.response, ...errorReplies({ 404: 'The admin page is closed: neither HERALD_API_KEY nor HERALD_ADMIN_CLAIM is set' }) };
  herald.http.get('/admin', { schema: { ...adminSchema, response: adminReplies } }, (_request, reply) => {
    if (herald.options.apiKey === undefined && herald.options.adminClaim === undefined) throw new HeraldError(Errors.NOT_FOUND, 'The admin page is closed: set HERALD_API_KEY or HERALD_ADMIN_CLAIM to open it');
    return send(reply, 'admin.html');
  });
  const assetSchema = {
    tags: ['demo'],
    summary: "The demo pages' scripts and style sheet",
    params: { type: 'object', required: ['file'], properties: { file: { type: 'string', description: 'A built file name, e.g. chat-3f2a.js; any other name is a 404' } } },
    response: {
      200: {
        description: 'The file',
        content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'string' } } },
      },
      ...errorReplies({ 404: 'No such asset', 503: 'The pages are not built (npm run build:web)' }),
    },
  };
  herald.http.get<{ Params: { file: string } }>('/assets/:file', { schema: assetSchema }, (request, reply) => {
    const { file } = request.params;
    if (!ASSET_NAME.test(file)) throw new HeraldError(Errors.NOT_FOUND, `No asset ${JSON.stringify(file)}`);
    return send(reply, `assets/${file}`);
  });
}

async function sendBuilt(reply: FastifyReply, root: string, file: string): Promise<FastifyReply> {
  let body: Buffer;
  try {
    body = await readFile(join(root, file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const built = await access(join(root, 'index.html')).then(() => true, () => false);
    throw built ? new HeraldError(Errors.NOT_FOUND, `No file ${JSON.stringify(file)}`) : new HeraldError(Errors.PAGES_NOT_BUILT);
  }
  const type = file.endsWith('.js.map') ? '.map' : extname(file);
  return reply
    .header('content-type', CONTENT_TYPES[type] ?? 'application/octet-stream')
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .send(body);
}
