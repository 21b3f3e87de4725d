import { build } from 'esbuild';
import { BROWSER_BUNDLE } from '../../web/build.ts';
import { writeAtomically } from './write-atomically.ts';

/**
 * The browser SDK as one minified ESM file (`herald/client` with everything it imports), for
 * pages that load a script without a bundler. Returns its size in bytes, which docs/client.md
 * states (test/packaging.test.ts checks the two agree).
 */
export async function bundleClient(entry: string, outfile: string): Promise<number> {
  const result = await build({
    entryPoints: [entry],
    outfile,
    ...BROWSER_BUNDLE,
  });
  let size = 0;
  for (const file of result.outputFiles) {
    await writeAtomically(file.path, file.contents);
    if (file.path === outfile) size = file.contents.byteLength;
  }
  return size;
}
