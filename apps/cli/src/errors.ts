/**
 * How the CLI turns failures into one line and an exit code (documented in the README):
 *   0 success, 1 bad input or a failed step (typed error), 2 usage error, 130 interrupted (Ctrl-C).
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
    const kind = err.name && err.name !== 'Error' ? `${err.name}: ` : '';
    write(`anopatch: ${kind}${err.message.split('\n')[0]}`);
    if (process.env.ANOPATCH_DEBUG) write(err.stack ?? '');
    return EXIT.failure;
  }
  write(`anopatch: ${String(err)}`);
  return EXIT.failure;
}
