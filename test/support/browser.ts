import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (installed by .ci/run); CHROMIUM_PATH points elsewhere. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

/**
 * Launches headless Chromium. Playwright gives every launch a fresh temporary user-data-dir and
 * deletes it on close, so no profile state leaks between runs.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A page as a person on a phone sees it, with what went wrong on it recorded for assertions. */
export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions in the page's scripts. */
  errors: string[];
  /** Requests to anywhere but `origin` (the pages must make none: no CDN, no fonts). */
  outsideRequests: string[];
}

/**
 * Opens `url` in a new browser context (its own cookies and storage, like a separate browser)
 * with a phone-sized viewport.
 */
export async function openPage(browser: Browser, url: string): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 390, height: 780 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  context.setDefaultTimeout(15_000);
  const origin = new URL(url).origin;
  const wsOrigin = origin.replace(/^http/, 'ws');
  const watched: WatchedPage = { context, page: await context.newPage(), errors: [], outsideRequests: [] };
  watched.page.on('pageerror', (error) => watched.errors.push(error.message));
  context.on('request', (request) => {
    const target = request.url();
    if (!target.startsWith(`${origin}/`) && !target.startsWith('data:')) watched.outsideRequests.push(target);
  });
  watched.page.on('websocket', (socket) => {
    if (!socket.url().startsWith(`${wsOrigin}/`)) watched.outsideRequests.push(socket.url());
  });
  await watched.page.goto(url);
  return watched;
}

/** Saves a full-page screenshot as test-artifacts/screenshots/<name>.png for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}
