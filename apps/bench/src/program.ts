import { Command, CommanderError } from 'commander';

/** `anopatch-bench`: the paper's Tables 1-3 and the speed benchmark (commands register in their own modules). */
export function buildProgram(): Command {
  return new Command('anopatch-bench').description('Reproduce the AnoPatch paper tables and measure speed').exitOverride();
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`anopatch-bench: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
    return 1;
  }
}
