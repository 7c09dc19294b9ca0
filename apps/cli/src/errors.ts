/**
 * How the CLI turns failures into one line and an exit code (documented in the README):
 *   0   success
 *   1   a typed error: bad input, missing or corrupt file, failed step (the line names the file and the fix)
 *   2   usage error (unknown command or option, missing or contradictory flags)
 *   130 interrupted (Ctrl-C): finished work is on disk, the same command resumes
 * Packages throw their own typed errors (one class per failure kind, message naming the file and the
 * problem); here they are printed as `anopatch: <ErrorName>: <message>` without a stack trace.
 * ANOPATCH_DEBUG=1 prints the stack as well.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

export function reportError(err: unknown, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): number {
  if (err instanceof UsageError) {
    write(`anopatch: ${err.message}`);
    return EXIT.usage;
  }
  if (err instanceof Error) {
    // matched by name: the pipeline's InterruptedError lives in a package the CLI loads lazily
    if (err.name === 'InterruptedError' || err.name === 'AbortError') {
      write(`anopatch: ${err.name === 'InterruptedError' && err.message ? err.message : 'interrupted; finished work is saved, run the same command again to resume'}`);
      return EXIT.interrupted;
    }
    const kind = err.name && err.name !== 'Error' ? `${err.name}: ` : '';
    write(`anopatch: ${kind}${err.message.split('\n')[0]}`);
    if (process.env.ANOPATCH_DEBUG) write(err.stack ?? '');
    return EXIT.failure;
  }
  write(`anopatch: ${String(err)}`);
  return EXIT.failure;
}
