import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import type { Table1 } from '@anopatch/dcase-eval';
import { Option, type Command } from 'commander';

import { paperTable3 } from '../paper/index.js';
import { progressPrinter, type ProgressPrinter } from '../progress.js';
import { table3Candidates, type BackboneCandidate } from '../protocol/backbones.js';
import { BenchUsageError } from '../protocol/errors.js';
import { runProtocol, type ProtocolResult } from '../protocol/run.js';
import { paperTrainOverrides, SYNTHETIC_NOTE, SYNTHETIC_SIZES, syntheticDataDir, syntheticDataset, syntheticTrainConfig, type SyntheticSize } from '../protocol/synthetic.js';
import { oursVsPaperCharts, ourFigures, rocCharts, runSummary, writeResults, type Chart } from '../report.js';
import { table1, table2, table3, toText, type BackboneResult, type ResultTable } from '../tables.js';

export type TableKind = 'table1' | 'table2' | 'table3';

export interface TableRunOptions {
  table: TableKind;
  out: string;
  synthetic?: boolean;
  size?: SyntheticSize;
  /** real runs: dataset root (table1 / table2 / table3) */
  data?: string;
  /** table1 / table2: BEATs checkpoint */
  weights?: string;
  /** table3: folder of backbone checkpoints */
  weightsDir?: string;
  groundTruth?: string;
  steps?: number;
  batchSize?: number;
  gradAccum?: number;
  cropFrames?: number;
  seed?: number;
  bank?: 'exact' | 'hnsw';
  /** embedding engine (default onnx, falling back to TF.js unless engineExplicit) */
  engine?: 'onnx' | 'tfjs';
  engineExplicit?: boolean;
  progress?: ProgressPrinter;
  signal?: AbortSignal;
}

export interface TableRunResult {
  out: string;
  table: ResultTable;
  files: string[];
  json: Record<string, unknown>;
  /** backbones whose run failed (table3); their rows carry the reason */
  failed: string[];
}

const editionOf = (t: TableKind): 2020 | 2023 => (t === 'table2' ? 2023 : 2020);

async function prepareData(o: TableRunOptions, out: string, p: ProgressPrinter): Promise<string> {
  const edition = editionOf(o.table);
  if (!o.synthetic) {
    if (!o.data) throw new BenchUsageError(`${o.table}: give --data <DCASE ${edition} root> (or --synthetic)`);
    return resolve(o.data);
  }
  if (o.data) throw new BenchUsageError('--synthetic makes its own data: drop --data');
  const { generateDataset } = await import('@anopatch/dcase-synth');
  const size = o.size ?? 'tiny';
  const dir = syntheticDataDir(out, edition, size);
  const synth = await generateDataset(dir, syntheticDataset(edition, size), {
    onProgress: (done, total) => p.onProgress({ stage: `synthesise ${edition}`, done, total }),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  p.log(`data: ${synth.clips.length} synthetic DCASE ${edition} clips (${size}) in ${dir}${synth.cached ? ' (reused)' : ''}`);
  return dir;
}

/** `anopatch-bench table1|table2|table3`: the protocol, the comparison table and its files. */
export async function runTable(o: TableRunOptions): Promise<TableRunResult> {
  const out = resolve(o.out);
  const p = o.progress ?? progressPrinter();
  const edition = editionOf(o.table);
  const synthetic = o.synthetic === true;
  const size = o.size ?? 'tiny';
  if (!SYNTHETIC_SIZES.includes(size)) throw new BenchUsageError(`--size must be one of ${SYNTHETIC_SIZES.join(', ')}, got '${String(size)}'`);
  const started = performance.now();
  const { initBackend } = await import('@anopatch/runtime');
  const backend = await initBackend();
  const data = await prepareData(o, out, p);
  const specAugment = o.table !== 'table3'; // the paper's Table 3 runs use no SpecAugment
  const trainConfig = synthetic
    ? syntheticTrainConfig(edition, size, specAugment)
    : paperTrainOverrides(edition, specAugment, {
        ...(o.steps !== undefined ? { steps: o.steps } : {}),
        ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
        ...(o.gradAccum !== undefined ? { gradAccum: o.gradAccum } : {}),
        ...(o.cropFrames !== undefined ? { cropFrames: o.cropFrames } : {}),
      });
  const common = {
    data,
    edition,
    cacheRoot: out,
    train: trainConfig,
    seed: o.seed ?? 0,
    embedDim: 128,
    ...(o.bank ? { bank: o.bank } : {}),
    ...(o.engine ? { engine: o.engine } : {}),
    ...(o.engineExplicit ? { engineExplicit: true } : {}),
    ...(o.groundTruth ? { groundTruth: o.groundTruth } : {}),
    log: p.log,
    onProgress: p.onProgress,
    ...(o.signal ? { signal: o.signal } : {}),
  };
  const notes = [
    ...(synthetic ? [SYNTHETIC_NOTE] : []),
    `Data: ${data}. Fine-tuning: ${JSON.stringify(trainConfig)} (other settings: the paper's Table 4 defaults of @anopatch/anopatch). TF.js backend: ${backend.name}.`,
  ];
  const json: Record<string, unknown> = {
    table: o.table,
    edition,
    synthetic,
    ...(synthetic ? { size, comparableWithPaper: false, note: SYNTHETIC_NOTE } : { comparableWithPaper: true }),
    data,
    backend: backend.name,
    trainConfig,
    generated: new Date().toISOString(),
  };
  let table: ResultTable;
  let charts: Chart[] = [];
  const failed: string[] = [];
  const extraMd: string[] = [];
  if (o.table === 'table1' || o.table === 'table2') {
    if (!synthetic && !o.weights) throw new BenchUsageError(`${o.table}: give --weights <BEATs_iter3.pt> (or --synthetic)`);
    const r = await runProtocol({ ...common, backbone: 'beats', ...(synthetic ? {} : { weights: o.weights! }) });
    notes.push(`Model: ${r.description}; ${r.trainSteps} optimizer steps; embedded with ${r.embedding}; stages ${stageText(r)}; cache ${r.dir}.`);
    const ours = ourFigures(r.table);
    table = (o.table === 'table1' ? table1 : table2)(ours, notes);
    charts = [...(await oursVsPaperCharts(r.table)), ...(await rocCharts(r.splits))];
    Object.assign(json, { ours, runs: [runSummary(r)] });
  } else {
    const candidates: BackboneCandidate[] = await table3Candidates({ synthetic, ...(o.weightsDir ? { weightsDir: o.weightsDir } : {}) });
    if (!synthetic && !o.weightsDir) throw new BenchUsageError('table3: give --weights-dir <folder of backbone checkpoints> (or --synthetic)');
    if (!synthetic && !existsSync(o.weightsDir!)) throw new BenchUsageError(`--weights-dir ${o.weightsDir!}: folder not found`);
    const paper = new Map(paperTable3().map((r) => [r.backbone, r]));
    const rows: BackboneResult[] = [];
    const runs: Record<string, unknown>[] = [];
    for (const c of candidates) {
      const pr = paper.get(c.paperName);
      const base = { backbone: c.id, paperName: c.paperName, size: pr?.size ?? '-', domain: pr?.domain ?? '-' };
      if (c.skipped) {
        p.log(`table3: ${c.id} skipped: ${c.skipped}`);
        rows.push({ ...base, skipped: c.skipped });
        continue;
      }
      let r: ProtocolResult;
      try {
        r = await runProtocol({ ...common, backbone: c.id, ...(c.weights ? { weights: c.weights } : {}) });
      } catch (err) {
        if (err instanceof Error && err.name === 'InterruptedError') throw err;
        const why = `run failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
        p.log(`table3: ${c.id} ${why}`);
        rows.push({ ...base, skipped: why });
        failed.push(c.id);
        continue;
      }
      const t = r.table as Table1;
      rows.push({ ...base, ours: { dev: 100 * (t.dev.mean ?? Number.NaN), eval: 100 * (t.eval.mean ?? Number.NaN) } });
      extraMd.push(`- ${c.id}: ${r.description}; ${r.trainSteps} steps; embedded with ${r.embedding}; stages ${stageText(r)}; cache ${r.dir}`);
      charts.push(...(await rocCharts(r.splits, `roc_${c.id}`)));
      runs.push(runSummary(r));
    }
    notes.push('Table 3 protocol: no SpecAugment; [CLS] token of backbones that have one, attentive statistics pooling otherwise.');
    table = table3(rows, notes);
    const { barChartPng } = await import('@anopatch/dcase-eval');
    const ran = rows.filter((r) => r.ours);
    if (ran.length > 0) {
      charts.unshift({
        file: 'ours_vs_paper.png',
        png: barChartPng({
          title: 'Table 3: dev / eval mean, this run vs paper [%]',
          categories: ran.map((r) => r.backbone),
          series: [
            { name: 'this run dev', values: ran.map((r) => r.ours!.dev) },
            { name: 'paper dev', values: ran.map((r) => paper.get(r.paperName)?.dev.mean ?? Number.NaN) },
            { name: 'this run eval', values: ran.map((r) => r.ours!.eval) },
            { name: 'paper eval', values: ran.map((r) => paper.get(r.paperName)?.eval.mean ?? Number.NaN) },
          ],
          yLabel: '%',
        }),
      });
    }
    Object.assign(json, { ours: rows, runs });
  }
  json.seconds = Number(((performance.now() - started) / 1000).toFixed(1));
  const files = await writeResults(out, table, json, charts, extraMd.length ? ['Runs:', ...extraMd, ''] : []);
  return { out, table, files, json, failed };
}

function stageText(r: ProtocolResult): string {
  return Object.entries(r.stages)
    .map(([s, v]) => `${s} ${v}`)
    .join(', ');
}

interface TableFlags {
  data?: string;
  weights?: string;
  weightsDir?: string;
  out?: string;
  synthetic?: boolean;
  size: SyntheticSize;
  groundTruth?: string;
  steps?: string;
  batchSize?: string;
  gradAccum?: string;
  cropFrames?: string;
  seed: string;
  bank: 'exact' | 'hnsw';
  engine?: 'onnx' | 'tfjs';
  json?: boolean;
}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new BenchUsageError(`${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function withInterrupt<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => {
    process.stderr.write('\ninterrupt: finishing the current step; rerun the same command to resume\n');
    ac.abort();
  };
  process.once('SIGINT', onSigint);
  return run(ac.signal).finally(() => process.off('SIGINT', onSigint));
}

export function register(program: Command): void {
  const specs: { name: TableKind; what: string }[] = [
    { name: 'table1', what: 'Table 1: DCASE 2020 Task 2 - fine-tune BEATs (Table 4), embed, KNN per (type, ID), score dev and eval, evaluate; ours beside the paper' },
    { name: 'table2', what: 'Table 2: DCASE 2023 Task 2 - 167 classes, SpecAugment freq 80, source/target min KNN, harmonic means; ours beside the paper' },
    { name: 'table3', what: 'Table 3: every registered backbone with weights in --weights-dir fine-tuned the same way (no SpecAugment); skipped ones listed with the reason' },
  ];
  for (const spec of specs) {
    const cmd = program.command(spec.name).description(spec.what);
    cmd.option('--data <root>', `dataset root (dev_data/ and eval_data/ of DCASE ${spec.name === 'table2' ? 2023 : 2020})`);
    if (spec.name === 'table3') cmd.option('--weights-dir <dir>', 'folder of backbone checkpoints: <id>/ (Hugging Face folder) or <id>*.pt|.bin|.safetensors|.ckpt');
    else cmd.option('--weights <pt>', 'BEATs checkpoint (BEATs_iter3.pt)');
    cmd
      .option('--out <dir>', 'output folder: results.{md,csv,json}, PNG charts, <hash>/{train,embed,score,evaluate}', `anopatch-bench-${spec.name}`)
      .option('--synthetic', 'dcase-synth data and tiny random-init backbones (CI; NOT comparable with the paper)')
      .addOption(new Option('--size <size>', 'synthetic set size').choices([...SYNTHETIC_SIZES]).default('tiny'))
      .option('--ground-truth <path>', 'eval ground truth (2020 eval_data_list.csv, 2023 ground-truth folder; default <data>/ground_truth)')
      .option('--steps <n>', 'optimizer steps (default: the paper, 10000; warmup scaled with it)')
      .option('--batch-size <n>', 'clips per micro-batch (default: the paper, 32)')
      .option('--grad-accum <n>', 'micro-batches per step (default: the paper, 8)')
      .option('--crop-frames <n>', 'training crop in fbank frames (default 998 = 10 s)')
      .option('--seed <n>', 'seed of the head init and the training stream', '0')
      .addOption(new Option('--bank <kind>', 'KNN bank').choices(['exact', 'hnsw']).default('exact'))
      .addOption(new Option('--engine <engine>', 'embedding engine (default onnx: ONNX Runtime, TF.js where it cannot run the model)').choices(['onnx', 'tfjs']))
      .option('--json', 'print results.json on stdout instead of the table')
      .action(async (f: TableFlags) => {
        const result = await withInterrupt((signal) =>
          runTable({
            table: spec.name,
            out: f.out ?? `anopatch-bench-${spec.name}`,
            synthetic: f.synthetic === true,
            size: f.size,
            ...(f.data ? { data: f.data } : {}),
            ...(f.weights ? { weights: f.weights } : {}),
            ...(f.weightsDir ? { weightsDir: f.weightsDir } : {}),
            ...(f.groundTruth ? { groundTruth: f.groundTruth } : {}),
            ...optionalInts(f),
            seed: int('--seed', f.seed, 0) ?? 0,
            bank: f.bank,
            ...(f.engine ? { engine: f.engine, engineExplicit: true } : {}),
            signal,
          }),
        );
        if (f.json) process.stdout.write(JSON.stringify(result.json, null, 1) + '\n');
        else {
          process.stdout.write(`\n${toText(result.table)}\n\nfiles:\n${result.files.map((x) => `  ${x}`).join('\n')}\n`);
          process.stdout.write(`done in ${String(result.json.seconds)} s\n`);
        }
        if (result.failed.length > 0) {
          process.stderr.write(`anopatch-bench: the run of ${result.failed.join(', ')} failed (reason in the table)\n`);
          process.exitCode = 1;
        }
      });
  }
}

function optionalInts(f: TableFlags): Partial<TableRunOptions> {
  const out: Partial<TableRunOptions> = {};
  const steps = int('--steps', f.steps, 1);
  const batch = int('--batch-size', f.batchSize, 1);
  const accum = int('--grad-accum', f.gradAccum, 1);
  const crop = int('--crop-frames', f.cropFrames, 16);
  if (steps !== undefined) out.steps = steps;
  if (batch !== undefined) out.batchSize = batch;
  if (accum !== undefined) out.gradAccum = accum;
  if (crop !== undefined) out.cropFrames = crop;
  return out;
}

