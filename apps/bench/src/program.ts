import { Command, CommanderError } from 'commander';

import { register as registerSpeed } from './commands/speed.js';
import { register as registerTables } from './commands/tables.js';
import { BenchUsageError } from './protocol/errors.js';

/** `anopatch-bench`: the paper's Tables 1-3 and the speed benchmark. */
export function buildProgram(): Command {
  const program = new Command('anopatch-bench').description('Reproduce the AnoPatch paper tables and measure speed').exitOverride();
  registerTables(program);
  registerSpeed(program);
  return program;
}

/** Exit codes: 0 ok, 1 failure, 2 usage, 130 interrupted (rerun to resume). */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    const name = err instanceof Error ? err.name : '';
    process.stderr.write(`anopatch-bench: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
    if (err instanceof BenchUsageError) return 2;
    if (name === 'InterruptedError') return 130;
    return 1;
  }
}
