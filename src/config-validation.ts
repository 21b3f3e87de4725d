import { Ajv, type ErrorObject } from 'ajv';
import { ConfigError } from './config.ts';
import { configSchema, settings, type ConfigKey } from './config-schema.ts';

/**
 * Checks settings against the one schema (config-schema.ts) and turns ajv's errors into one
 * message naming the setting where it came from (`PORT`, `--port`, `herald.config.json: port`) and
 * what it expects.
 */
const ajv = new Ajv({ allErrors: false, strict: true });
ajv.addVocabulary(['env', 'envFile', 'escapedNewlines', 'section', 'expected', 'secret', 'defaultText']);

/** The configuration file: unknown keys are mistakes. */
const validateFile = ajv.compile(configSchema);
/**
 * `createHerald(options)` and values from the environment or command line: an application may
 * pass options the schema does not list (an embedding app's own), so only listed ones are checked.
 */
const validateKnown = ajv.compile({ ...configSchema, additionalProperties: true });

/** Throws a ConfigError for the first bad setting in `values`; `label` names where a key came from. */
export function checkSettings(values: Record<string, unknown>, label: (key: string) => string, { file = false } = {}): void {
  const validate = file ? validateFile : validateKnown;
  if (validate(values)) return;
  throw new ConfigError(describe(validate.errors![0]!, values, label));
}

function describe(error: ErrorObject, values: Record<string, unknown>, label: (key: string) => string): string {
  const [, key, ...inside] = error.instancePath.split('/');
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    if (key === undefined) return `${label(extra)}: unknown setting; known settings: ${Object.keys(configSchema.properties).filter((k) => k !== '$schema').join(', ')}`;
    return `${label(key)}: ${jsonPath([...inside, extra])} is not an option here`;
  }
  if (key === undefined) return `${label('')} must be a JSON object of settings`;
  // Inside a structured setting (a Pusher app, a namespace): where, and ajv's words for what is
  // wrong, which never repeat the value (it may be a secret).
  const schema = settings[key as ConfigKey] as { type?: string; items?: { type?: string } } | undefined;
  const structured = schema?.type === 'object' || schema?.items?.type === 'object';
  if (inside.length > 0 && structured) {
    const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues;
    return `${label(key)}: ${jsonPath(inside)} ${error.message ?? 'is not valid'}${allowed === undefined ? '' : ` (${allowed.join(', ')})`}`;
  }
  return mustBe(key as ConfigKey, values[key], label(key));
}

/** `["0", "webhooks", "1", "url"]` → `[0].webhooks[1].url` */
function jsonPath(segments: readonly string[]): string {
  return segments.map((segment, index) => (/^\d+$/.test(segment) ? `[${segment}]` : index === 0 ? segment : `.${segment}`)).join('');
}

/** `<label> must be <what the schema expects>, got <value>`; a secret's value is never repeated. */
export function mustBe(key: ConfigKey, value: unknown, label: string): string {
  const schema = settings[key];
  const got = schema.secret ? '' : `, got ${JSON.stringify(value)}`;
  return `${label} must be ${expectedValue(key)}${got}`;
}

/** What a valid value of `key` looks like, in words. */
export function expectedValue(key: ConfigKey): string {
  const schema = settings[key];
  if (schema.expected !== undefined) return schema.expected;
  if (schema.enum !== undefined) return `one of ${schema.enum.join(', ')}`;
  switch (schema.type) {
    case 'integer':
      return `a whole number from ${schema.minimum} to ${schema.maximum}`;
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list of strings';
    case 'object':
      return 'a JSON object';
    default:
      return 'a non-empty string';
  }
}
