import { readFileSync } from 'node:fs';

/**
 * The package's version, from its package.json: one directory up from src/ when run from source,
 * two from dist/src/ when run from the build or an installed package.
 */
export function packageVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'herald' && pkg.version !== undefined) return pkg.version;
    } catch {
      // Not this one: try the next level.
    }
  }
  return 'unknown';
}
