import { GroundTruthError } from './errors.js';
import { groundTruthFromScan, loadGroundTruth2020, loadGroundTruth2023 } from './groundtruth.js';
import { type EvaluateOptions, type Evaluation2020, type Evaluation2023, evaluateSubmission2020, evaluateSubmission2023 } from './official.js';
import { scanDataset } from './scan.js';

/** One call for `anopatch evaluate`: ground truth from a labelled dataset or the official files, then the submission. */
export function evaluateScores(options: EvaluateOptions): Evaluation2020 | Evaluation2023 {
  const { edition } = options;
  if ((options.data === undefined) === (options.groundTruth === undefined)) {
    throw new GroundTruthError('give exactly one of a dataset root (data) or an official ground truth (groundTruth)');
  }
  let split = options.data?.split;
  let gt;
  if (options.data) {
    gt = groundTruthFromScan(scanDataset(options.data.root, { edition, split: options.data.split }));
  } else {
    gt = edition === 2023 ? loadGroundTruth2023(options.groundTruth!) : loadGroundTruth2020(options.groundTruth!);
    // the official ground truths are the evaluation sets
    split = 'eval';
  }
  const seedTag = { ...(options.seed !== undefined ? { seed: options.seed } : {}), ...(options.tag !== undefined ? { tag: options.tag } : {}) };
  return edition === 2023 ? evaluateSubmission2023(options.scores, gt, { ...seedTag, split }) : evaluateSubmission2020(options.scores, gt, { split });
}
