import { join, resolve } from 'node:path';

import { barChartPng, htmlReport, type Evaluation2020, type HtmlTable, type Table1 } from '@anopatch/dcase-eval';
import { Option, type Command } from 'commander';

import { UsageError } from '../errors.js';
import { engineOption, positiveInt } from '../lib/flags.js';
import { interruptOnSigint } from '../lib/interrupt.js';
import { buildEmbedder, buildModel, type Engine } from '../lib/model.js';
import { ProgressReporter } from '../lib/progress.js';

interface DemoFlags {
  out: string;
  size: 'tiny' | 'demo' | 'small';
  types: string;
  seed: string;
  batchSize: string;
  engine?: Engine;
  force?: boolean;
  json?: boolean;
}

export interface DemoUnit {
  split: string;
  type: string;
  id: string;
  auc: number;
  pauc: number;
}

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : (100 * v).toFixed(2));

/** Per split: one row per machine type (mean of its IDs) and the split mean, as the paper's Table 1 has them. */
export function demoTableText(table: Table1): string {
  const lines: string[] = [];
  for (const split of ['dev', 'eval'] as const) {
    const half = table[split];
    if (half.types.length === 0) continue;
    lines.push(`${split.padEnd(5)} ${'type'.padEnd(12)} ${'AUC'.padStart(7)} ${'pAUC'.padStart(7)} ${'mean'.padStart(7)}  IDs`);
    for (const t of half.types) lines.push(`${''.padEnd(5)} ${t.type.padEnd(12)} ${pct(t.auc).padStart(7)} ${pct(t.pauc).padStart(7)} ${pct(t.score).padStart(7)}  ${t.ids.join(' ')}`);
    lines.push(`${''.padEnd(5)} ${'mean'.padEnd(12)} ${pct(half.auc).padStart(7)} ${pct(half.pauc).padStart(7)} ${pct(half.mean).padStart(7)}`);
  }
  return lines.join('\n');
}

/**
 * `anopatch demo`: the whole method on a laptop, no download. A synthetic DCASE 2020-style set
 * (dcase-synth) -> a tiny random-init BEATs-architecture model -> embed -> one KNN bank per
 * (type, ID) -> score -> official CSVs -> dcase-eval -> table, results files, PNG + HTML summary.
 * A second run reuses the data, the embeddings and the results (content-hash cache).
 */
export function register(program: Command): void {
  program
    .command('demo')
    .description('run the whole pipeline on a synthetic DCASE 2020-style set with a tiny random-init model (no download, a few minutes on 2 cores)')
    .option('--out <dir>', 'output folder (data, cache, results, summary.html)', 'anopatch-demo')
    .addOption(new Option('--size <preset>', 'synthetic set size: tiny (CI, 1 s clips), demo (2 s, 20 train + 20 test per ID), small (4 s, 60 + 40)').choices(['tiny', 'demo', 'small']).default('demo'))
    .option('--types <list>', 'machine types (comma-separated, DCASE 2020 names)', 'fan,pump,valve')
    .option('--seed <n>', 'seed of the synthetic data and of the model init', '0')
    .option('--batch-size <n>', 'clips per forward pass', '8')
    .addOption(engineOption())
    .option('--force', 'regenerate the synthetic data when --out holds a set made with other options (--size, --types, --seed)')
    .option('--json', 'print the results as one JSON object on stdout')
    .action(async (flags: DemoFlags) => {
      const { generateDataset, SYNTH_PRESETS, DCASE2020_TYPES } = await import('@anopatch/dcase-synth');
      const { fbankStatsEmbedder, runPipeline, writeFileAtomic, writeJsonAtomic } = await import('@anopatch/anopatch');
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${flags.seed}'`);
      const types = flags.types.split(',').map((t) => t.trim()).filter(Boolean);
      const unknown = types.filter((t) => !DCASE2020_TYPES.includes(t));
      if (types.length === 0 || unknown.length > 0) throw new UsageError(`--types: unknown DCASE 2020 machine type(s) ${unknown.join(', ')}; choose from ${DCASE2020_TYPES.join(', ')}`);
      const out = resolve(flags.out);
      const data = join(out, 'data');
      const reporter = new ProgressReporter();
      const stop = interruptOnSigint((l) => reporter.log(l));
      const started = performance.now();
      try {
        const synth = await generateDataset(
          data,
          { edition: 2020, seed, machineTypes: types, ...SYNTH_PRESETS[flags.size] },
          { onProgress: (done, total) => reporter.onProgress({ stage: 'synthesise data', done, total }), signal: stop.signal, overwrite: flags.force ?? false },
        );
        reporter.log(`data: ${synth.clips.length} synthetic clips (${types.join(', ')}; ${flags.size}) in ${data}${synth.cached ? ' (reused)' : ''}`);
        const built = await buildModel({ tiny: true, seed: String(seed), embedDim: '128' });
        reporter.log(`model: ${built.description}`);
        const embedder = await buildEmbedder(built, {
          batchSize: positiveInt('--batch-size', flags.batchSize, 8),
          engine: flags.engine ?? 'onnx',
          explicit: flags.engine !== undefined,
          log: (l) => reporter.log(l),
        });
        reporter.log(`engine: ${embedder.engine === 'onnx' ? 'ONNX Runtime' : 'TF.js'}`);
        const result = await runPipeline({
          data,
          edition: 2020,
          out: join(out, 'run'),
          cacheDir: join(out, 'cache'),
          embedder,
          label: 'tiny random-init BEATs (demo)',
          onProgress: reporter.onProgress,
          signal: stop.signal,
        });
        const table = result.table as Table1;
        const unitsOf = (r: typeof result): DemoUnit[] =>
          r.splits.flatMap((s) => ((s.evaluation as Evaluation2020 | null)?.units ?? []).map((u) => ({ split: s.split, type: u.type, id: u.id, auc: u.auc, pauc: u.pauc })));
        const units = unitsOf(result);
        // the same banks, scoring and metrics on hand-made features: what the data allow without a network
        const baselineEmbedder = fbankStatsEmbedder();
        const baseline = await runPipeline({
          data,
          edition: 2020,
          out: join(out, 'baseline'),
          cacheDir: join(out, 'cache'),
          embedder: baselineEmbedder,
          label: 'log-mel statistics baseline',
          onProgress: reporter.onProgress,
          signal: stop.signal,
        });
        const baselineTable = baseline.table as Table1;
        const notes = [
          `Model: ${built.description}; embedded with ${embedder.engine === 'onnx' ? 'ONNX Runtime' : 'TF.js'}.`,
          'The data are synthetic (dcase-synth), the model is a tiny randomly initialised BEATs-architecture network with an untrained pooling head: these numbers show the pipeline working end to end, they are not the paper\'s results (for those: `anopatch train` with BEATs_iter3.pt on the real DCASE data, then `anopatch-bench`).',
          `Reference: ${baselineEmbedder.description}, through the same banks and metrics: dev ${pct(baselineTable.dev.mean)} %, eval ${pct(baselineTable.eval.mean)} % ((AUC+pAUC)/2). ${(table.dev.mean ?? 0) < (baselineTable.dev.mean ?? 0) ? 'Here the random network is the weaker detector' : 'Here the random network does at least as well'}; pre-training and ArcFace fine-tuning are what the paper adds.`,
        ];
        const categories = [...new Set([...table.dev.types, ...table.eval.types].map((t) => t.type))];
        const chart = barChartPng({
          title: 'AUC per machine type: tiny random-init model vs log-mel baseline [%]',
          categories,
          series: [table, baselineTable].flatMap((tb, i) =>
            (['dev', 'eval'] as const).map((split) => ({
              name: `${i === 0 ? 'model' : 'baseline'} ${split}`,
              values: categories.map((c) => 100 * (tb[split].types.find((t) => t.type === c)?.auc ?? Number.NaN)),
            })),
          ),
          yLabel: 'AUC %',
        });
        const tables: HtmlTable[] = (['dev', 'eval'] as const).map((split) => ({
          caption: `${split}: per machine type (mean over IDs), %`,
          header: ['type', 'AUC', 'pAUC', '(AUC+pAUC)/2', 'IDs'],
          rows: [...table[split].types.map((t) => [t.type, pct(t.auc), pct(t.pauc), pct(t.score), t.ids.join(' ')]), ['mean', pct(table[split].auc), pct(table[split].pauc), pct(table[split].mean), '']],
        }));
        tables.push({ caption: 'per machine ID, %', header: ['split', 'type', 'ID', 'AUC', 'pAUC'], rows: units.map((u) => [u.split, u.type, u.id, pct(u.auc), pct(u.pauc)]) });
        tables.push({
          caption: 'reference: log-mel statistics baseline (no network), per machine type, %',
          header: ['split', 'type', 'AUC', 'pAUC', '(AUC+pAUC)/2'],
          rows: (['dev', 'eval'] as const).flatMap((split) => [
            ...baselineTable[split].types.map((t) => [split, t.type, pct(t.auc), pct(t.pauc), pct(t.score)]),
            [split, 'mean', pct(baselineTable[split].auc), pct(baselineTable[split].pauc), pct(baselineTable[split].mean)],
          ]),
        });
        writeFileAtomic(join(out, 'summary.png'), chart);
        writeFileAtomic(
          join(out, 'summary.html'),
          htmlReport('AnoPatch-TS demo', [
            ...notes.map((text) => ({ kind: 'paragraph' as const, text })),
            ...tables.map((table) => ({ kind: 'table' as const, table })),
            { kind: 'image', png: chart, alt: 'AUC per machine type' },
          ]),
        );
        const seconds = (performance.now() - started) / 1000;
        const summary = {
          out,
          data,
          model: built.description,
          engine: embedder.engine,
          randomInit: built.randomInit,
          modelHash: embedder.hash,
          clips: synth.clips.length,
          units,
          table,
          baseline: { description: baselineEmbedder.description, units: unitsOf(baseline), table: baselineTable },
          splits: result.splits.map((s) => ({ split: s.split, trainClips: s.trainClips, testClips: s.testClips, embeddingsReused: s.embeddingsReused, embeddingsFromCache: s.embeddingsFromCache, scoresDir: s.scoresDir })),
          files: ['summary.html', 'summary.png', 'demo.json', ...result.files.map((f) => `run/${f}`), ...baseline.files.map((f) => `baseline/${f}`)],
          seconds: Number(seconds.toFixed(1)),
        };
        writeJsonAtomic(join(out, 'demo.json'), summary);
        await embedder.release();
        if (flags.json) {
          process.stdout.write(JSON.stringify(summary, null, 1) + '\n');
        } else {
          process.stdout.write(`\nAnoPatch-TS demo: DCASE 2020-style synthetic data, AUC / pAUC in %\n${demoTableText(table)}\n\n`);
          process.stdout.write(`reference, no network (${baselineEmbedder.description}):\n${demoTableText(baselineTable)}\n\n`);
          for (const n of notes) process.stdout.write(`${n}\n`);
          process.stdout.write(`\nresults: ${join(out, 'run', 'results.md')} (also .csv, .json), per ID: ${join(out, 'run', 'results_per_unit.csv')}\n`);
          process.stdout.write(`official score CSVs: ${join(out, 'run', 'scores')}/{dev,eval}\nsummary: ${join(out, 'summary.html')}, ${join(out, 'summary.png')}\n`);
          process.stdout.write(`done in ${seconds.toFixed(1)} s\n`);
        }
      } finally {
        stop.dispose();
      }
    });
}
