/**
 * `npm run build`: everything the published package runs from, in dist/ (git-ignored):
 *
 * - dist/src/ and dist/client/: every module compiled to ESM JavaScript with source maps;
 * - dist/web/dist/: the demo pages (web/build.ts), where the compiled default app looks for them;
 * - dist/herald-client.min.js: the browser SDK in one minified file (its size is printed);
 * - the `.d.ts` declarations, from tsc, which also type-checks. `--quick` (what `npm start` runs)
 *   leaves them out: the rest takes well under a second, tsc takes several.
 *
 * Files whose contents did not change are not rewritten, and changed ones are replaced atomically,
 * so servers running from dist/ are safe while another command rebuilds it.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb, WEB_DIST } from '../web/build.ts';
import { bundleClient } from './build/client-bundle.ts';
import { compileModules } from './build/compile-modules.ts';
import { copyTree } from './build/copy-tree.ts';
import { emitDeclarations } from './build/declarations.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
export const CLIENT_BUNDLE = join(DIST, 'herald-client.min.js');

const started = Date.now();
const quick = process.argv.includes('--quick');
await buildWeb();
const [modules, pages, clientBytes] = await Promise.all([
  compileModules(ROOT, ['src', 'client'], DIST),
  copyTree(WEB_DIST, join(DIST, 'web', 'dist')),
  bundleClient(join(ROOT, 'client', 'index.ts'), CLIENT_BUNDLE),
]);
if (!quick) await emitDeclarations(ROOT);
console.log(
  `build: ${modules} modules and ${pages} page files into dist/${quick ? '' : ' with declarations'}; ` +
    `dist/herald-client.min.js is ${clientBytes} bytes (${(clientBytes / 1024).toFixed(1)} KB); ${Date.now() - started} ms`,
);
