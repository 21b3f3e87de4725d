import { resolveOptions, type HeraldOptions, type ResolvedOptions, type ServeSettings } from './config.ts';
import { settingsFromEnv } from './config-env.ts';
import { readConfigFile } from './config-file.ts';
import { schemaDefaults, type ConfigKey } from './config-schema.ts';
import { checkSettings } from './config-validation.ts';

export interface LoadedSettings {
  /** The server's options, checked and with defaults filled in. */
  options: ResolvedOptions;
  serve: ServeSettings;
  /** The configuration file read, if any. */
  configFile: string | undefined;
}

export interface SettingSources {
  /** Values from command-line flags, by setting key; `flagName` says how to name one in a message. */
  flags?: Partial<Record<ConfigKey, unknown>>;
  flagName?: (key: string) => string;
  /** `--config`; without it herald.config.json in `cwd` is read when it exists. */
  configPath?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * The settings of a `herald` command: command line over environment over configuration file over
 * the schema's defaults. Throws a ConfigError naming the first bad value and where it came from.
 */
export function loadSettings(sources: SettingSources = {}): LoadedSettings {
  const file = readConfigFile(sources.configPath, sources.cwd);
  const env = settingsFromEnv(sources.env ?? process.env);
  const flags = Object.fromEntries(Object.entries(sources.flags ?? {}).filter(([, value]) => value !== undefined));
  checkSettings(flags, sources.flagName ?? ((key) => `--${key}`));
  const { demos, workers, ...options } = { ...schemaDefaults, ...file?.values, ...env, ...flags } as HeraldOptions & ServeSettings;
  return { options: resolveOptions(options), serve: { demos, workers }, configFile: file?.path };
}
