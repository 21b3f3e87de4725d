import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The README and docs speak to users about features. Words that name the project's internal
 * history instead (work items by number, files outside the repository) have no meaning to them.
 */
// `src/shared/` is Herald's own folder; the project's notes outside the repository are not.
const INTERNAL = [/seed/i, /issue #?\d/i, /\.\.\/shared\//i, /shared\/(seeds|style|hooks)/i, /field-notes/i];

test('README.md and docs/*.md name features, not internal history', async () => {
  const files = ['README.md', ...(await readdir(`${ROOT}docs`)).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
  const hits: string[] = [];
  for (const file of files) {
    const lines = (await readFile(`${ROOT}${file}`, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      for (const pattern of INTERNAL) if (pattern.test(line)) hits.push(`${file}:${i + 1}: ${pattern} in ${line.trim().slice(0, 120)}`);
    });
  }
  assert.deepEqual(hits, []);
});
