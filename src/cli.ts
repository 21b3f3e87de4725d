#!/usr/bin/env node
import { ConfigError } from './config.ts';
import { UsageError } from './errors.ts';
import { check } from './cli/check.ts';
import { commandHelp, parseCommandLine, type Command } from './cli/command.ts';
import { publish } from './cli/publish.ts';
import { serve } from './cli/serve.ts';
import { token } from './cli/token.ts';
import { packageVersion } from './package-version.ts';
import { worker } from './cli/worker.ts';

/** `herald <command>`: the package's command (docs/config.md, README "Command line"). */
const COMMANDS: Command[] = [serve, worker, publish, token, check];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return [
    'Usage: herald <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'herald <command> --help shows its options; herald --version prints the version.',
    '',
  ].join('\n');
}

async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === '--version' || name === '-v') {
    console.log(packageVersion());
    return 0;
  }
  if (name === '--help' || name === '-h') {
    process.stdout.write(mainHelp());
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    process.stderr.write(`herald: ${name === undefined ? 'no command given' : `unknown command ${JSON.stringify(name)}`}\n\n${mainHelp()}`);
    return 2;
  }
  try {
    const parsed = parseCommandLine(command, rest);
    if (parsed === 'help') {
      process.stdout.write(commandHelp(command));
      return 0;
    }
    return await command.run(parsed);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      console.error(`herald ${command.name}: ${error.message}`);
      return 2;
    }
    console.error(`herald ${command.name}: could not start:`, error);
    return 1;
  }
}

// Output to a pipe is written asynchronously: setting the exit code instead of calling
// process.exit() lets it drain. Commands that keep resources open close them before returning.
const code = await main(process.argv.slice(2));
process.exitCode = code;
if (code !== 0) setTimeout(() => process.exit(code), 1000).unref();
