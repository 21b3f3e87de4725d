import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './config.ts';
import type { ConfigKey } from './config-schema.ts';
import { checkSettings } from './config-validation.ts';

/** The file `herald serve` and the other commands read when no `--config` is given. */
export const DEFAULT_CONFIG_FILE = 'herald.config.json';

export interface ConfigFile {
  path: string;
  values: Partial<Record<ConfigKey, unknown>>;
}

/**
 * Reads and checks the configuration file: `path` if given (it must exist), else
 * herald.config.json in `cwd` if there is one. Unknown keys and bad values throw a ConfigError
 * naming the file and the key.
 */
export function readConfigFile(path: string | undefined, cwd: string = process.cwd()): ConfigFile | undefined {
  const file = resolve(cwd, path ?? DEFAULT_CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (path === undefined && code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read the configuration file ${file} (${code ?? String(error)})`);
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new ConfigError(`${file} must hold a JSON object of settings`);
  }
  checkSettings(values as Record<string, unknown>, (key) => `${file}: ${key}`, { file: true });
  const { $schema: _editorHint, ...settings } = values as Record<string, unknown>;
  return { path: file, values: settings };
}
