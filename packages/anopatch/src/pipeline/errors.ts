/** The data folder is missing or holds no clips of the asked-for edition / split. */
export class DataDirError extends Error {
  override name = 'DataDirError';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/** A file of a previous step (embeddings, scores) is missing, corrupt or from another model / data set. */
export class PipelineFileError extends Error {
  override name = 'PipelineFileError';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/** The run was asked to stop (Ctrl-C); everything finished so far is on disk and a rerun resumes. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor(message = 'interrupted; finished work is saved, run the same command again to resume') {
    super(message);
  }
}

/** Throw InterruptedError when `signal` has fired (checked between units of work). */
export function checkInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof InterruptedError ? signal.reason : new InterruptedError();
}
