/**
 * One error class per failure kind. Every message names the file (or the input) and the problem, so
 * the CLI can print it as one line.
 */

/** A dataset folder the layout requires is missing, or holds something the layout does not allow. */
export class DatasetLayoutError extends Error {
  override name = 'DatasetLayoutError';
}

/** A score / decision / ground-truth CSV row cannot be parsed (wrong column count, not a number). */
export class CsvFormatError extends Error {
  override name = 'CsvFormatError';
}

/** A score is NaN or infinite: every ROC metric would be meaningless. */
export class NonFiniteScoreError extends Error {
  override name = 'NonFiniteScoreError';
}

/** The same file name appears twice in one score file or ground-truth list. */
export class DuplicateFileError extends Error {
  override name = 'DuplicateFileError';
}

/** A score file lacks clips the ground truth lists, or lists clips the ground truth does not know. */
export class ScoreMismatchError extends Error {
  override name = 'ScoreMismatchError';
}

/** Labels hold a single class: AUC / pAUC are undefined (sklearn raises too); we never return 0.5. */
export class SingleClassError extends Error {
  override name = 'SingleClassError';
}

/** A ground-truth folder or file is missing or does not follow the official evaluator's layout. */
export class GroundTruthError extends Error {
  override name = 'GroundTruthError';
}

/** Bad arguments to a metric or builder (length mismatch, max_fpr out of (0, 1], label not 0/1). */
export class MetricInputError extends Error {
  override name = 'MetricInputError';
}

/** A decision value that is not 0 or 1 after int(float(v)), as the official evaluator reads it. */
export class DecisionValueError extends Error {
  override name = 'DecisionValueError';
}

/** The gamma fit cannot run: too few training scores, or all of them equal. */
export class GammaFitError extends Error {
  override name = 'GammaFitError';
}

/** Refused to overwrite an existing result file (pass overwrite: true). */
export class OutputExistsError extends Error {
  override name = 'OutputExistsError';
}
