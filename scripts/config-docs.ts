/**
 * `npm run docs:config`: rewrites the settings tables of docs/config.md from the schema
 * (src/config-schema.ts). Each table sits between `<!-- settings:<section> -->` and
 * `<!-- /settings -->`; test/config-file.test.ts fails when the file is not what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { settingKeys, settings } from '../src/config-schema.ts';

export const CONFIG_DOC = fileURLToPath(new URL('../docs/config.md', import.meta.url));

/** The markdown table of one section's settings. */
export function settingsTable(section: string): string {
  const rows = settingKeys
    .filter((key) => settings[key].section === section)
    .map((key) => {
      const s = settings[key];
      const variable = s.env === undefined ? '' : `\`${s.env}\`${s.envFile ? ` or \`${s.env}_FILE\`` : ''}`;
      const fallback = s.default !== undefined ? `\`${typeof s.default === 'string' ? s.default : JSON.stringify(s.default)}\`` : (s.defaultText ?? 'unset');
      return `| \`${key}\` | ${variable} | ${fallback} | ${s.description} |`;
    });
  return ['| setting | environment variable | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** `markdown` with every marked table regenerated. */
export function withCurrentTables(markdown: string): string {
  return markdown.replace(/(<!-- settings:([a-z]+) -->)[\s\S]*?(<!-- \/settings -->)/g, (_match, open: string, section: string, close: string) => `${open}\n${settingsTable(section)}\n${close}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const before = readFileSync(CONFIG_DOC, 'utf8');
  const after = withCurrentTables(before);
  writeFileSync(CONFIG_DOC, after);
  console.log(after === before ? 'docs/config.md: already current' : 'docs/config.md: tables regenerated from src/config-schema.ts');
}
