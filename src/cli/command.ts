import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.ts';

type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { value?: string; description: string };

/** One `herald` subcommand: its help text, its options, and what it does. */
export interface Command {
  name: string;
  /** One line for `herald --help`. */
  summary: string;
  /** The arguments after the command name, e.g. `<channel> <data>`. */
  operands?: string;
  /** Paragraphs after the option list in `herald <command> --help`. */
  details?: string;
  options: Record<string, OptionSpec>;
  /** Runs the command; resolves with the exit code, or never for a server that runs until stopped. */
  run(parsed: Parsed): Promise<number>;
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses `args` for `command` (node:util parseArgs, strict): unknown options are a UsageError. */
export function parseCommandLine(command: Command, args: string[]): Parsed | 'help' {
  const options = Object.fromEntries(Object.entries(command.options).map(([name, { type, short }]) => [name, short === undefined ? { type } : { type, short }]));
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '')}\n(herald ${command.name} --help lists the options)`);
  }
  if (parsed.values.help === true) return 'help';
  return { values: parsed.values as Parsed['values'], positionals: parsed.positionals };
}

/** `herald <command> --help`. */
export function commandHelp(command: Command): string {
  const rows = Object.entries(command.options).map(([name, spec]) => {
    const flag = `${spec.short === undefined ? '    ' : `-${spec.short}, `}--${name}${spec.type === 'string' ? ` ${spec.value ?? '<value>'}` : ''}`;
    return [flag, spec.description] as const;
  });
  rows.push(['-h, --help', 'Show this help.']);
  const width = Math.max(...rows.map(([flag]) => flag.length));
  const lines = [
    `Usage: herald ${command.name}${command.operands === undefined ? '' : ` ${command.operands}`} [options]`,
    '',
    command.summary,
    '',
    'Options:',
    ...rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`),
  ];
  if (command.details !== undefined) lines.push('', command.details);
  return `${lines.join('\n')}\n`;
}
