/** Options that cannot describe a dataset (zero clips, unknown edition, bad clip length). */
export class SynthOptionsError extends Error {
  override name = 'SynthOptionsError';
}

/** The output folder already holds a different synthetic set (or other files) and overwrite was not asked for. */
export class SynthConflictError extends Error {
  override name = 'SynthConflictError';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}
