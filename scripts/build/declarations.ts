import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

/**
 * The `.d.ts` files (and their maps) for dist/, from tsc with tsconfig.build.json, which also
 * type-checks src/ and client/. It takes seconds, so `npm start` skips it; `npm run build` and
 * `npm test` run it.
 */
export async function emitDeclarations(root: string): Promise<void> {
  const tsc = spawn(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  const [code] = await once(tsc, 'exit');
  if (code !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${code})`);
}
