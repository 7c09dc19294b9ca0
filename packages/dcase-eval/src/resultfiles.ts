import { join } from 'node:path';

import { formatCsv, writeFileAtomic } from './csv.js';
import { DuplicateFileError, NonFiniteScoreError } from './errors.js';
import { fitGamma, gammaPpf, type GammaParams } from './gamma.js';

/**
 * The official per-unit result files, as the DCASE baselines write them and the evaluators read them:
 * rows `file,score` (and `file,decision`), no header, file = clip base name, sorted by file name.
 *   2020: anomaly_score_<type>_id_<NN>.csv
 *   2023: anomaly_score_<type>_section_<NN>_test.csv and decision_result_<type>_section_<NN>_test.csv
 * Decisions are 1 when the score is strictly above the threshold (the baselines' `y_pred > threshold`).
 */

export interface ClipScore {
  /** clip base name, e.g. section_00_0001.wav */
  file: string;
  score: number;
}

function sortedRows(clips: readonly ClipScore[], where: string): ClipScore[] {
  const seen = new Set<string>();
  for (const c of clips) {
    if (seen.has(c.file)) throw new DuplicateFileError(`${where}: ${c.file} scored twice`);
    seen.add(c.file);
    if (!Number.isFinite(c.score)) throw new NonFiniteScoreError(`${where}: score of ${c.file} is ${c.score}`);
  }
  // Python's sorted() on str compares code points; so does this comparator (no locale)
  return [...clips].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

export function scoreFileName2020(type: string, id: string): string {
  return `anomaly_score_${type}_id_${id}.csv`;
}

export function scoreFileName2023(type: string, section: string): string {
  return `anomaly_score_${type}_section_${section}_test.csv`;
}

export function decisionFileName2023(type: string, section: string): string {
  return `decision_result_${type}_section_${section}_test.csv`;
}

export interface WriteOptions {
  overwrite?: boolean;
}

/** Write anomaly_score_<type>_id_<NN>.csv; returns its path. */
export function writeScoreFile2020(outDir: string, type: string, id: string, clips: readonly ClipScore[], options: WriteOptions = {}): string {
  const path = join(outDir, scoreFileName2020(type, id));
  writeFileAtomic(path, formatCsv(sortedRows(clips, path).map((c) => [c.file, c.score])), options);
  return path;
}

/** Write the 2023 anomaly-score and decision files of one section; returns both paths. */
export function writeResultFiles2023(
  outDir: string,
  type: string,
  section: string,
  clips: readonly ClipScore[],
  threshold: number,
  options: WriteOptions = {},
): { scoreFile: string; decisionFile: string } {
  const scoreFile = join(outDir, scoreFileName2023(type, section));
  const decisionFile = join(outDir, decisionFileName2023(type, section));
  const rows = sortedRows(clips, scoreFile);
  writeFileAtomic(scoreFile, formatCsv(rows.map((c) => [c.file, c.score])), options);
  writeFileAtomic(decisionFile, formatCsv(rows.map((c) => [c.file, c.score > threshold ? '1' : '0'])), options);
  return { scoreFile, decisionFile };
}

/**
 * What the 2023 baselines do at test time for one section: fit the gamma distribution to the
 * training clips' scores, threshold at its `percentile` quantile (0.9), write both result files.
 */
export function writeSectionResults2023(
  outDir: string,
  type: string,
  section: string,
  testClips: readonly ClipScore[],
  trainScores: ArrayLike<number>,
  options: WriteOptions & { percentile?: number } = {},
): { scoreFile: string; decisionFile: string; threshold: number; gamma: GammaParams } {
  const gamma = fitGamma(trainScores);
  const threshold = gammaPpf(options.percentile ?? 0.9, gamma);
  return { ...writeResultFiles2023(outDir, type, section, testClips, threshold, options), threshold, gamma };
}
