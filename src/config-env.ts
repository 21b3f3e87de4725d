import { readFileSync } from 'node:fs';
import { ConfigError } from './config.ts';
import { settingKeys, settings, type ConfigKey } from './config-schema.ts';
import { checkSettings, mustBe } from './config-validation.ts';

/**
 * Reads every setting that has an environment variable in the schema. Unset or empty variables
 * are left out (so the file or the default applies); a bad value throws a ConfigError naming the
 * variable. A secret may instead come from `<NAME>_FILE`, the path of a file that holds it, as
 * container platforms mount secrets; one trailing newline is dropped.
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<Record<ConfigKey, unknown>> {
  const values: Partial<Record<ConfigKey, unknown>> = {};
  const names: Partial<Record<string, string>> = {};
  for (const key of settingKeys) {
    const schema = settings[key];
    if (schema.env === undefined) continue;
    const text = schema.envFile ? fromVariableOrFile(schema.env, env) : nonEmpty(env[schema.env]);
    if (text === undefined) continue;
    values[key] = parse(key, schema.env, text);
    names[key] = schema.env;
  }
  checkSettings(values, (key) => names[key] ?? key);
  return values;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function fromVariableOrFile(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const direct = nonEmpty(env[name]);
  const path = nonEmpty(env[`${name}_FILE`]);
  if (path === undefined) return direct;
  if (direct !== undefined) throw new ConfigError(`Set only one of ${name} and ${name}_FILE`);
  let contents: string;
  try {
    contents = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${name}_FILE: cannot read ${JSON.stringify(path)} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const value = contents.replace(/\r?\n$/, '');
  if (value === '') throw new ConfigError(`${name}_FILE: ${JSON.stringify(path)} is empty`);
  return value;
}

/** The variable's text as the type the schema asks for. */
function parse(key: ConfigKey, name: string, text: string): unknown {
  const schema = settings[key];
  if (schema.type === 'integer' || (schema.anyOf !== undefined && text !== 'auto')) {
    if (!/^\d+$/.test(text)) throw new ConfigError(mustBe(key, text, name));
    return Number(text);
  }
  switch (schema.type) {
    case 'boolean':
      if (/^(1|true|yes)$/i.test(text)) return true;
      if (/^(0|false|no)$/i.test(text)) return false;
      throw new ConfigError(mustBe(key, text, name));
    case 'array':
      if (schema.items?.type === 'object') return parseJson(name, text, name === 'HERALD_WEBHOOKS' ? '[{"url": "https://app.example.com/hooks", "secret": "…", "events": ["*"]}]' : '[{"id": "1", "key": "app-key", "secret": "app-secret"}]');
      return text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    case 'object':
      return parseJson(name, text, '{"chat": {"subscribe": "authenticated"}}');
    default:
      // A PEM in a variable is often written on one line with literal \n.
      return schema.escapedNewlines ? text.replace(/\\n/g, '\n') : text;
  }
}

function parseJson(name: string, text: string, example: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(`${name} must be JSON, e.g. ${example}`);
  }
}
