/**
 * Ctrl-C handling for long commands: the first SIGINT aborts `signal` (the pipeline turns that into
 * an InterruptedError, the trainer into a checkpoint and `stopped`), and the running step stops at its next safe point (after the batch in flight is written), so the
 * command exits with code 130 leaving a resumable state. A second Ctrl-C exits at once.
 */
export function interruptOnSigint(log: (line: string) => void = (l) => process.stderr.write(l + '\n')): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) {
      log('anopatch: interrupted again; exiting now (the last finished step is on disk)');
      process.exit(130);
    }
    log('\nanopatch: stopping after the current step (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}
