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

/** A model configuration cannot be built (sizes, pooling, name clashes). */
export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
}

/** Saved model tensors do not fit the model (missing or misshapen). */
export class ModelStateError extends Error {
  override name = 'ModelStateError';
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(`${source}: ${problem}`);
  }
}

/** Training data is unusable (no clips, bad labels, inconsistent shapes). */
export class TrainDataError extends Error {
  override name = 'TrainDataError';
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(`${source}: ${problem}`);
  }
}

/** A training checkpoint directory is missing, incomplete or does not fit the run. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}
