import { readFileSync } from 'node:fs';

import { Command, CommanderError } from 'commander';

import { commands } from './commands/index.js';
import { EXIT, reportError } from './errors.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('anopatch')
    .description('AnoPatch machine anomalous sound detection (Interspeech 2024) in TypeScript')
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Run the CLI and return the exit code (never throws, never prints a stack trace unless ANOPATCH_DEBUG). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit with 0 after printing; everything else commander rejects is usage
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return reportError(err);
  }
}
