import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { Option, type Command } from 'commander';

import { positiveInt } from '../lib/flags.js';

interface ScoreFlags {
  embeddings: string;
  out: string;
  bank: 'exact' | 'hnsw';
  k?: string;
  json?: boolean;
}

/** Embedding-set folders under `dir`: itself when it holds embeddings.json, else its <split>/ subfolders. */
function embeddingDirs(dir: string): string[] {
  if (existsSync(join(dir, 'embeddings.json'))) return [dir];
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'embeddings.json')))
    .sort()
    .map((d) => join(dir, d));
}

/** `anopatch score`: banks from train embeddings, test clips scored, official CSVs written. */
export function register(program: Command): void {
  program
    .command('score')
    .description("build the paper's KNN banks from training embeddings, score the test clips, write the official DCASE result CSVs")
    .requiredOption('--embeddings <dir>', 'output of `anopatch embed` (a <split>/ folder or its parent)')
    .requiredOption('--out <dir>', 'output folder: <out>/<split>/anomaly_score_*.csv (+ decision_result_*.csv for 2023), <out>/clip_scores_<split>.csv')
    .addOption(new Option('--bank <kind>', 'KNN bank: exact, or hnsw (approximate, for very large banks)').choices(['exact', 'hnsw']).default('exact'))
    .option('--k <n>', 'neighbours averaged into a score (paper: 1)', '1')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (flags: ScoreFlags) => {
      const { loadEmbeddingSet, scoreEmbeddingSet, PipelineFileError } = await import('@anopatch/anopatch');
      const dirs = embeddingDirs(resolve(flags.embeddings));
      if (dirs.length === 0) throw new PipelineFileError(resolve(flags.embeddings), 'no embeddings.json here or in its subfolders; run `anopatch embed` first');
      const out = resolve(flags.out);
      const results = [];
      for (const dir of dirs) {
        const { set, embeddings } = loadEmbeddingSet(dir);
        const r = scoreEmbeddingSet(set, embeddings, {
          out: join(out, set.split),
          bank: flags.bank,
          k: positiveInt('--k', flags.k, 1),
          banksDir: join(out, 'banks', set.split),
          clipScoresFile: join(out, `clip_scores_${set.split}.csv`),
        });
        results.push({ split: set.split, edition: set.edition, scored: r.scored.length, files: r.files, thresholds: r.thresholds });
      }
      if (flags.json) process.stdout.write(JSON.stringify({ splits: results }, null, 1) + '\n');
      else {
        for (const r of results) {
          process.stdout.write(`${r.split}: scored ${r.scored} test clips -> ${join(out, r.split)}\n`);
          process.stdout.write(`  evaluate with: anopatch evaluate --edition ${r.edition} --scores ${join(out, r.split)} --data <root> --split ${r.split}\n`);
        }
      }
    });
}
