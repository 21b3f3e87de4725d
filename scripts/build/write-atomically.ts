import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `contents` to `path` unless the file already holds exactly that. A changed file is written
 * under a temporary name and renamed into place, so a server started from dist/ while another
 * `npm start` or `npm test` rebuilds it reads the old file or the new one, never half of one.
 * Returns whether the file changed.
 */
export async function writeAtomically(path: string, contents: Uint8Array | string): Promise<boolean> {
  const bytes = typeof contents === 'string' ? Buffer.from(contents) : Buffer.from(contents.buffer, contents.byteOffset, contents.byteLength);
  const current = await readFile(path).catch(() => undefined);
  if (current !== undefined && current.equals(bytes)) return false;
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, path);
  return true;
}
