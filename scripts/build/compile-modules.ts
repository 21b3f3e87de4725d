import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { writeAtomically } from './write-atomically.ts';

/**
 * Compiles every module under `dirs` to dist/ one file for one file (ESM, linked source maps),
 * keeping the tree: src/cli.ts becomes dist/src/cli.js. Sources import each other with `.ts`
 * extensions; the compiled files import `.js`. Type declarations come from tsc (declarations.ts),
 * which checks types; this step only strips them, so it takes a fraction of a second and
 * `npm start` can run it every time.
 */
export async function compileModules(root: string, dirs: string[], outdir: string): Promise<number> {
  const entryPoints = (await Promise.all(dirs.map((dir) => modulesUnder(join(root, dir))))).flat();
  const result = await build({
    entryPoints,
    outdir,
    outbase: root,
    // Bundling mode only so that the plugin below sees every import; it marks each one external,
    // so every output file holds exactly its own module.
    bundle: true,
    plugins: [keepImports],
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    write: false,
    logLevel: 'warning',
  });
  await Promise.all(result.outputFiles.map((file) => writeAtomically(file.path, file.contents)));
  return entryPoints.length;
}

const keepImports: Plugin = {
  name: 'keep-imports',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const path = args.path.startsWith('.') ? args.path.replace(/\.ts$/, '.js') : args.path;
      return { path, external: true };
    });
  },
};

async function modulesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort((a, b) => relative(dir, a).localeCompare(relative(dir, b)));
}
