/** A flag or input the user gave that the bench cannot use (exit code 2). */
export class BenchUsageError extends Error {
  override name = 'BenchUsageError';
}

/** A stage's cached output on disk is unreadable or inconsistent; the message names the file. */
export class StageCacheError extends Error {
  override name = 'StageCacheError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem} (delete the folder to recompute the stage)`);
  }
}
