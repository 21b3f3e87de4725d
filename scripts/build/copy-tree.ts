import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writeAtomically } from './write-atomically.ts';

/** Copies every file under `from` to the same place under `to`; returns how many there are. */
export async function copyTree(from: string, to: string): Promise<number> {
  const entries = await readdir(from, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile() && !entry.name.endsWith('.tmp'));
  await Promise.all(
    files.map(async (entry) => {
      const source = join(entry.parentPath, entry.name);
      await writeAtomically(join(to, relative(from, source)), await readFile(source));
    }),
  );
  return files.length;
}
