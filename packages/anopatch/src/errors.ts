/** A training configuration value is invalid. */
export class TrainConfigError extends Error {
  override name = 'TrainConfigError';
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(`${source}: ${problem}`);
  }
}

/** Saved optimizer state does not fit the optimizer (missing or misshapen tensors). */
export class OptimizerStateError extends Error {
  override name = 'OptimizerStateError';
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(`${source}: ${problem}`);
  }
}
