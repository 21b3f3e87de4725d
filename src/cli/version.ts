import { readFileSync } from 'node:fs';

/**
 * The package's version, from its package.json: two directories up from src/cli/ when run from
 * source, three from dist/src/cli/ when run from the build or an installed package.
 */
export function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'herald' && pkg.version !== undefined) return pkg.version;
    } catch {
      // Not this one: try the next level.
    }
  }
  return 'unknown';
}
