/**
 * Builds the demo pages into web/dist/ (git-ignored): each page's script bundled by esbuild with
 * what it imports (the client SDK included), next to the HTML and the style sheet. `npm run build`
 * (scripts/build.ts, which `npm start` and `npm test` run first) runs it and copies the pages into
 * dist/; `npm run build:web` runs it alone.
 *
 * Several servers or test files may build at the same moment, so every file is written to a
 * temporary name and renamed into place: a reader sees the old file or the new one, never half.
 */
import { copyFile, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

const WEB = dirname(fileURLToPath(import.meta.url));
export const WEB_DIST = join(WEB, 'dist');

/** How browser code is bundled, for the pages and for the SDK's one-file build alike. */
export const BROWSER_BUNDLE = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: 'linked',
  write: false,
  logLevel: 'warning',
} as const satisfies BuildOptions;

/** Builds web/dist and resolves with the number of files written. */
export async function buildWeb(): Promise<number> {
  const pages = (await readdir(join(WEB, 'pages'))).filter((name) => name.endsWith('.html'));
  const scripts = (await readdir(join(WEB, 'src'))).filter((name) => name.endsWith('-page.ts'));
  const result = await build({
    entryPoints: scripts.map((name) => join(WEB, 'src', name)),
    outdir: join(WEB_DIST, 'assets'),
    ...BROWSER_BUNDLE,
  });
  await mkdir(join(WEB_DIST, 'assets'), { recursive: true });
  const temporary = `.${process.pid}.tmp`;
  const writes = result.outputFiles.map(async (file) => {
    await writeFile(file.path + temporary, file.contents);
    await rename(file.path + temporary, file.path);
  });
  const copies: [string, string][] = [
    ...pages.map((name): [string, string] => [join(WEB, 'pages', name), join(WEB_DIST, name)]),
    [join(WEB, 'style.css'), join(WEB_DIST, 'assets', 'style.css')],
  ];
  const copied = copies.map(async ([from, to]) => {
    await copyFile(from, to + temporary);
    await rename(to + temporary, to);
  });
  await Promise.all([...writes, ...copied]);
  return writes.length + copied.length;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const files = await buildWeb();
  console.log(`web: built ${files} files into web/dist in ${Date.now() - started} ms`);
}
