import type { Herald } from '../herald.ts';

/** The default app's routes beyond the core (`/connect`, `/ws/{channel}`, `/api/*`, health, metrics). */
export const DEMO_ROUTES = [
  '/ (demo pages)',
  '/ws/{user_id}',
  '/connect_chat',
  'POST /create_chat',
  '/echo',
  '/echo/secure',
  '/echo/timed',
  '/chat',
  '/broadcast/{client_id}',
  '/ws/chat/',
  '/async_task/',
  'POST /example_task',
];

/**
 * The start-up warning of `herald serve` with the demos on: the default app is a demo, and without
 * authentication anyone may use every route as anyone.
 */
export function openDemoNotice(herald: Herald): string {
  const who = herald.authenticationConfigured
    ? 'JWT authentication is on, so user channels need a token, but the demo routes are public'
    : 'no authentication is configured, so anyone may open any route as any user';
  return (
    `The default app is an open demo: ${who}. Demo routes: ${DEMO_ROUTES.join(', ')}; ` +
    'plus /connect, /ws/{channel} and /api/*. Run herald serve --no-demos to serve only the core.'
  );
}
