import { ConfigError } from '../config.ts';
import type { ConfigKey } from '../config-schema.ts';
import { loadSettings, type LoadedSettings } from '../config-sources.ts';
import { mustBe } from '../config-validation.ts';
import type { Parsed } from './command.ts';

/** Command-line flags that set a schema setting, and the flag's name. */
const FLAGS: Partial<Record<ConfigKey, string>> = { port: 'port', host: 'host', redisUrl: 'redis-url', workers: 'workers' };

/**
 * A command's settings: its flags (those above, and `--no-demos`) over the environment over the
 * configuration file (`--config`, or herald.config.json here) over the defaults.
 */
export function settingsFor(parsed: Parsed): LoadedSettings {
  const flags: Partial<Record<ConfigKey, unknown>> = {};
  for (const [key, flag] of Object.entries(FLAGS) as [ConfigKey, string][]) {
    const text = parsed.values[flag];
    if (typeof text === 'string') flags[key] = flagValue(key, flag, text);
  }
  if (parsed.values['no-demos'] === true) flags.demos = false;
  const flagNames: Record<string, string> = { ...FLAGS, demos: 'no-demos' };
  return loadSettings({
    flags,
    flagName: (key) => `--${flagNames[key] ?? key}`,
    configPath: typeof parsed.values.config === 'string' ? parsed.values.config : undefined,
  });
}

function flagValue(key: ConfigKey, flag: string, text: string): unknown {
  if (key === 'port' || (key === 'workers' && text !== 'auto')) {
    if (!/^\d+$/.test(text)) throw new ConfigError(mustBe(key, text, `--${flag}`));
    return Number(text);
  }
  return text;
}

/** The options every command that reads the configuration accepts. */
export const configOption = {
  config: { type: 'string', value: '<path>', description: 'Configuration file (default: herald.config.json in this directory, if present).' },
} as const;
