import {
  evaluateScores,
  formatEvaluation,
  writeResultTable,
  type Evaluation2020,
  type Evaluation2023,
  type EvaluateOptions,
} from '@anopatch/dcase-eval';
import { Option, type Command } from 'commander';

import { UsageError } from '../errors.js';

interface EvaluateCliOptions {
  edition: '2020' | '2023';
  scores: string;
  data?: string;
  split: 'dev' | 'eval';
  groundTruth?: string;
  seed?: string;
  tag?: string;
  json?: boolean;
  out?: string;
  force?: boolean;
}

/**
 * `anopatch evaluate`: score a folder of official-format CSVs from any system against a labelled
 * DCASE dataset (--data) or the official evaluators' ground truth (--ground-truth), with the
 * official evaluators' numbers; prints the per-machine table and the official score.
 */
export function register(program: Command): void {
  program
    .command('evaluate')
    .description('evaluate official-format anomaly-score CSVs (any system) with the DCASE 2020 / 2023 Task 2 evaluators\' numbers')
    .addOption(new Option('--edition <year>', 'DCASE Task 2 edition').choices(['2020', '2023']).makeOptionMandatory())
    .requiredOption('--scores <dir>', 'folder of anomaly_score_*.csv (and decision_result_*.csv for 2023)')
    .option('--data <root>', 'dataset root whose test file names carry labels (the dev sets as unzipped)')
    .addOption(new Option('--split <split>', 'which part of --data to use').choices(['dev', 'eval']).default('dev'))
    .option(
      '--ground-truth <dir>',
      'official ground truth: 2023 folder with ground_truth_data/, ground_truth_domain/, ground_truth_attributes/; 2020 eval_data_list.csv (or its folder)',
    )
    .option('--seed <n>', '2023 baseline-style file names: the seed in anomaly_score_DCASE2023T2<type>_section_00_test_seed<seed><tag>_Eval.csv')
    .option('--tag <tag>', '2023 baseline-style file names: the tag after the seed (e.g. "_id(0_)")')
    .option('--json', 'print the whole evaluation as one JSON object')
    .option('--out <base>', 'also write the paper-style result table to <base>.json, <base>.csv and <base>.md')
    .option('--force', 'overwrite existing --out files')
    .action((options: EvaluateCliOptions) => {
      if ((options.data === undefined) === (options.groundTruth === undefined)) {
        throw new UsageError('evaluate: give exactly one of --data <dataset root> or --ground-truth <dir>');
      }
      const edition = options.edition === '2020' ? 2020 : 2023;
      const request: EvaluateOptions = {
        edition,
        scores: options.scores,
        ...(options.data !== undefined ? { data: { root: options.data, split: options.split } } : {}),
        ...(options.groundTruth !== undefined ? { groundTruth: options.groundTruth } : {}),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
        ...(options.tag !== undefined ? { tag: options.tag } : {}),
      };
      const ev: Evaluation2020 | Evaluation2023 = evaluateScores(request);
      const written = options.out ? writeResultTable(options.out, ev.table, { overwrite: options.force ?? false }) : [];
      if (options.json) {
        process.stdout.write(JSON.stringify({ ...ev, resultFiles: written }, null, 1) + '\n');
      } else {
        process.stdout.write(formatEvaluation(ev) + '\n');
        for (const p of written) process.stdout.write(`wrote ${p}\n`);
      }
    });
}
