import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A file of the repository, as text. */
export function repoFile(path: string): Promise<string> {
  return readFile(`${ROOT}${path}`, 'utf8');
}

/**
 * The fenced code blocks of a Markdown file that follow a line `<!-- file: path -->`: the files a
 * document shows verbatim, by path.
 */
export async function includedBlocks(markdownPath: string): Promise<Map<string, string>> {
  const text = await repoFile(markdownPath);
  const blocks = new Map<string, string>();
  const pattern = /<!-- file: (\S+) -->\n```[^\n]*\n([\s\S]*?)```\n/g;
  for (const match of text.matchAll(pattern)) blocks.set(match[1]!, match[2]!);
  return blocks;
}

/** The `Environment=NAME=value` settings of a systemd unit, with `%i` replaced by `instance`. */
export function unitEnvironment(unit: string, instance: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)) env[match[1]!] = match[2]!.replaceAll('%i', instance);
  return env;
}

/** The `ExecStart=` command line of a systemd unit. */
export function unitExecStart(unit: string): string[] {
  const match = /^ExecStart=(.*)$/m.exec(unit);
  if (match === null) throw new Error('the unit has no ExecStart');
  return match[1]!.trim().split(/\s+/);
}
