import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';

import type { AnoPatchModel, ClipEmbedder, ProgressFn, TrainConfigOverrides } from '@anopatch/anopatch';
import type { ClipRecord, Edition, Evaluation2020, Evaluation2023, Split, Table1, Table2 } from '@anopatch/dcase-eval';

import { BenchUsageError, StageCacheError } from './errors.js';
import { sha256Hex } from './hash.js';
import { buildBenchModel, weightsHash, type BuiltModel } from './backbones.js';

export const STAGES = ['train', 'embed', 'score', 'evaluate'] as const;
export type Stage = (typeof STAGES)[number];
const DONE = '.done.json';

/** One curve per machine type (its IDs / sections pooled), for the ROC charts. */
export type RocByType = Record<string, { fpr: number[]; tpr: number[] }>;

export interface ProtocolOptions {
  /** dataset root holding dev_data/ and/or eval_data/ */
  data: string;
  edition: Edition;
  /** cache root: stages go to <cacheRoot>/<hash>/{train,embed,score,evaluate} */
  cacheRoot: string;
  backbone: string;
  /** checkpoint file or HF folder; absent = random init of the tiny config */
  weights?: string;
  train: TrainConfigOverrides;
  seed?: number;
  embedDim?: number;
  k?: number;
  bank?: 'exact' | 'hnsw';
  batchSize?: number;
  /** embedding engine: ONNX Runtime (default; several times faster on CPU) or TF.js */
  engine?: 'onnx' | 'tfjs';
  /** the engine was asked for: do not fall back to TF.js when ONNX Runtime fails */
  engineExplicit?: boolean;
  /** eval ground truth (default <data>/ground_truth when present) */
  groundTruth?: string;
  log?: (line: string) => void;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

export interface SplitEvaluation {
  split: Split;
  evaluation: Evaluation2020 | Evaluation2023;
  roc: RocByType;
}

export interface ProtocolResult {
  hash: string;
  dir: string;
  edition: Edition;
  backbone: string;
  description: string;
  /** what embedded the clips (engine included) */
  embedding: string;
  table: Table1 | Table2;
  splits: SplitEvaluation[];
  /** 'cached' when the stage's done-marker was there */
  stages: Record<Stage, 'computed' | 'cached'>;
  trainSteps: number;
  /** official score CSV folder per split */
  scoreDirs: Record<string, string>;
}

function splitsOf(data: string): Split[] {
  const s = (['dev', 'eval'] as const).filter((x) => existsSync(join(data, `${x}_data`)));
  if (s.length === 0) throw new BenchUsageError(`${data}: no dev_data/ or eval_data/ folder (give the root of a DCASE set)`);
  return s;
}

function readDone(dir: string): Record<string, unknown> | null {
  const f = join(dir, DONE);
  if (!existsSync(f)) return null;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new StageCacheError(f, 'unreadable done-marker');
  }
}

/**
 * The paper's protocol for one backbone: fine-tune (ArcFace on metadata classes) -> embed every
 * clip -> per-(type, ID) [2020] or per-type source/target [2023] KNN banks -> official score CSVs ->
 * dcase-eval. Each stage writes into <cacheRoot>/<hash>/<stage> and a done-marker last, so a rerun
 * (or a resumed, interrupted run) skips finished stages; the hash covers the data file list, the
 * config and the weights.
 */
export async function runProtocol(options: ProtocolOptions): Promise<ProtocolResult> {
  const { edition, backbone } = options;
  const data = resolve(options.data);
  if (!existsSync(data)) throw new BenchUsageError(`${data}: data folder does not exist`);
  const log = options.log ?? (() => undefined);
  const seed = options.seed ?? 0;
  const embedDim = options.embedDim ?? 128;
  const { scanDataset, applyGroundTruth, loadGroundTruth2020, loadGroundTruth2023, evaluateScores, buildTable1, buildTable2, rocCurve, writeFileAtomic } = await import('@anopatch/dcase-eval');
  const anopatch = await import('@anopatch/anopatch');
  const { TINY_BACKBONE_CONFIGS } = await import('@anopatch/vit-backbone');

  const splits = splitsOf(data);
  const scans = splits.map((split) => scanDataset(data, { edition, split }));
  for (const s of scans) if (s.records.length === 0) throw new BenchUsageError(`${s.root}: no DCASE ${edition} ${s.split} clips found`);
  const files = scans.flatMap((s) => s.records.map((r) => `${relative(data, r.path)}:${statSync(r.path).size}`)).sort();
  const wHash = options.weights === undefined ? `random-init:${seed}` : weightsHash(options.weights);
  const keyed = {
    edition,
    backbone,
    tinyConfig: options.weights === undefined ? (TINY_BACKBONE_CONFIGS[backbone] ?? null) : null,
    train: options.train,
    seed,
    embedDim,
    k: options.k ?? 1,
    bank: options.bank ?? 'exact',
    engine: options.engine ?? 'onnx',
  };
  const hash = sha256Hex(JSON.stringify({ files, config: keyed, weights: wHash })).slice(0, 16);
  const dir = join(resolve(options.cacheRoot), hash);
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, 'key.json'), JSON.stringify({ data, files: files.length, config: keyed, weights: options.weights ?? null, weightsHash: wHash }, null, 1) + '\n', { overwrite: true });
  const stages = {} as Record<Stage, 'computed' | 'cached'>;
  const stageDir = (s: Stage) => join(dir, s);
  const markDone = (s: Stage, info: Record<string, unknown>) => writeFileAtomic(join(stageDir(s), DONE), JSON.stringify({ ...info, time: new Date().toISOString() }) + '\n', { overwrite: true });

  // ground truth of unlabelled eval test clips (dcase-synth writes it to <data>/ground_truth)
  const gtPath = options.groundTruth ?? (existsSync(join(data, 'ground_truth')) ? join(data, 'ground_truth') : undefined);
  const labelled = (split: Split) => scans[splits.indexOf(split)]!.records.every((r) => r.subset === 'train' || r.label !== 'unknown');
  for (const split of splits) {
    if (!labelled(split) && !gtPath) throw new BenchUsageError(`${split} test clips of ${data} carry no labels: give --ground-truth (2020 eval_data_list.csv, 2023 the evaluator's ground-truth folder)`);
  }

  // --- train
  let built: BuiltModel | undefined;
  let model: AnoPatchModel | undefined;
  let description: string;
  const trainDir = stageDir('train');
  const trainDone = readDone(trainDir);
  let trainSteps: number;
  if (trainDone) {
    stages.train = 'cached';
    description = String(trainDone.description);
    trainSteps = Number(trainDone.steps);
    log(`train: cached (${trainSteps} steps) in ${trainDir}`);
  } else {
    built = await buildBenchModel({ backbone, ...(options.weights !== undefined ? { weights: options.weights } : {}), seed, embedDim });
    model = built.model;
    description = built.description;
    const set = anopatch.dcaseTrainingSet(scans, { preset: built.preset });
    const resume = existsSync(join(trainDir, anopatch.CHECKPOINTS_DIR, anopatch.LATEST_JSON));
    log(`train: ${set.source.size} clips, ${set.classNames.length} classes, ${description}${resume ? ' (resuming)' : ''}`);
    const result = await anopatch.train({
      model,
      data: set.source,
      config: options.train,
      outDir: trainDir,
      resume,
      classNames: set.classNames,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (p) => options.onProgress?.({ stage: `train ${backbone}`, done: p.step, total: p.totalSteps }),
    });
    result.head.dispose();
    if (result.stopped) throw new anopatch.InterruptedError(`training interrupted at step ${result.step}; rerun the same command to resume`);
    trainSteps = result.step;
    markDone('train', { steps: result.step, lastLoss: result.losses.at(-1) ?? null, description, preset: built.preset });
    stages.train = 'computed';
  }
  const preset = (trainDone?.preset as 'beats' | 'ast' | undefined) ?? built!.preset;

  // --- embed
  const embedRoot = stageDir('embed');
  let embedder: ClipEmbedder | undefined;
  const getEmbedder = async () => {
    if (!model) model = anopatch.loadModel(trainDir).model;
    if (embedder) return embedder;
    const batchSize = options.batchSize ?? 8;
    if ((options.engine ?? 'onnx') === 'onnx') {
      try {
        embedder = await anopatch.onnxModelEmbedder(model, { preset, batchSize, description: `${description}; embedded with ONNX Runtime` });
        return embedder;
      } catch (err) {
        if (options.engineExplicit) throw err;
        log(`note: ONNX Runtime could not run this model (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); embedding with TF.js`);
      }
    }
    embedder = await anopatch.modelEmbedder(model, { preset, batchSize, description });
    return embedder;
  };
  const embedded = new Map<Split, Awaited<ReturnType<typeof anopatch.loadEmbeddingSet>>>();
  const embedDone = readDone(embedRoot);
  let embedding = typeof embedDone?.embedder === 'string' ? embedDone.embedder : 'TF.js';
  if (embedDone) {
    stages.embed = 'cached';
    for (const split of splits) embedded.set(split, anopatch.loadEmbeddingSet(join(embedRoot, split)));
    log(`embed: cached in ${embedRoot}`);
  } else {
    const e = await getEmbedder();
    for (const split of splits) {
      const r = await anopatch.embedSplit({
        data,
        edition,
        split,
        out: join(embedRoot, split),
        embedder: e,
        cacheDir: join(embedRoot, 'cache'),
        ...(options.batchSize ? { batchSize: options.batchSize } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      embedded.set(split, { set: r.set, embeddings: r.embeddings });
    }
    embedding = `${e.engine === 'onnx' ? 'ONNX Runtime' : 'TF.js'}`;
    markDone('embed', { splits, modelHash: e.hash, engine: e.engine, embedder: embedding });
    stages.embed = 'computed';
  }
  await embedder?.release();
  model?.dispose();

  // --- score
  const scoreRoot = stageDir('score');
  const scoreDirs: Record<string, string> = {};
  for (const split of splits) scoreDirs[split] = join(scoreRoot, split);
  if (readDone(scoreRoot)) {
    stages.score = 'cached';
    log(`score: cached in ${scoreRoot}`);
  } else {
    for (const split of splits) {
      const { set, embeddings } = embedded.get(split)!;
      const r = anopatch.scoreEmbeddingSet(set, embeddings, {
        out: scoreDirs[split]!,
        clipScoresFile: join(scoreRoot, `clip_scores_${split}.csv`),
        ...(options.bank ? { bank: options.bank } : {}),
        ...(options.k ? { k: options.k } : {}),
      });
      options.onProgress?.({ stage: `score ${split}`, done: r.scored.length, total: r.scored.length });
    }
    markDone('score', { splits });
    stages.score = 'computed';
  }

  // --- evaluate
  const evalRoot = stageDir('evaluate');
  const evalFile = join(evalRoot, 'evaluation.json');
  let evaluations: SplitEvaluation[];
  if (readDone(evalRoot)) {
    stages.evaluate = 'cached';
    try {
      evaluations = (JSON.parse(readFileSync(evalFile, 'utf8')) as { splits: SplitEvaluation[] }).splits;
    } catch {
      throw new StageCacheError(evalFile, 'unreadable evaluation');
    }
    log(`evaluate: cached in ${evalRoot}`);
  } else {
    evaluations = splits.map((split) => {
      const isLabelled = labelled(split);
      const evaluation = isLabelled
        ? evaluateScores({ edition, scores: scoreDirs[split]!, data: { root: data, split } })
        : evaluateScores({ edition, scores: scoreDirs[split]!, groundTruth: gtPath! });
      let scan = scans[splits.indexOf(split)]!;
      if (!isLabelled) scan = applyGroundTruth(scan, edition === 2020 ? loadGroundTruth2020(gtPath!) : loadGroundTruth2023(gtPath!));
      return { split, evaluation, roc: rocPerType(scan.records, join(scoreRoot, `clip_scores_${split}.csv`), rocCurve) };
    });
    writeFileAtomic(evalFile, JSON.stringify({ splits: evaluations }) + '\n', { overwrite: true });
    markDone('evaluate', { splits });
    stages.evaluate = 'computed';
  }
  const table =
    edition === 2020
      ? buildTable1(evaluations.flatMap((e) => (e.evaluation as Evaluation2020).units.map((u) => ({ type: u.type, id: u.id, auc: u.auc, pauc: u.pauc, split: e.split }))))
      : buildTable2(
          evaluations.flatMap((e) =>
            (e.evaluation as Evaluation2023).units.map((u) => ({ type: u.type, section: u.section, aucSource: u.aucSource, aucTarget: u.aucTarget, pauc: u.pauc, split: e.split })),
          ),
        );
  return { hash, dir, edition, backbone, description, embedding, table, splits: evaluations, stages, trainSteps, scoreDirs };
}

/** ROC points per machine type from the clip-score CSV the score stage wrote and the clips' labels. */
function rocPerType(
  records: readonly ClipRecord[],
  clipScoresCsv: string,
  rocCurve: (labels: number[], scores: number[]) => { fpr: number[]; tpr: number[] },
): RocByType {
  const labelOf = new Map(records.filter((r) => r.subset === 'test').map((r) => [`${r.type}/${r.file}`, r.label]));
  const lines = readFileSync(clipScoresCsv, 'utf8').trim().split('\n').slice(1);
  const byType = new Map<string, { labels: number[]; scores: number[] }>();
  for (const line of lines) {
    // file,type,group,domain,label,score,nearest_train_clip (paths hold no commas: DCASE names)
    const [path, type, , , , score] = line.split(',');
    const label = labelOf.get(`${type}/${basename(path!)}`);
    if (label !== 'normal' && label !== 'anomaly') throw new StageCacheError(clipScoresCsv, `no label for ${path}`);
    const e = byType.get(type!) ?? { labels: [], scores: [] };
    e.labels.push(label === 'anomaly' ? 1 : 0);
    e.scores.push(Number(score));
    byType.set(type!, e);
  }
  const out: RocByType = {};
  for (const [type, { labels, scores }] of byType) {
    const c = rocCurve(labels, scores);
    out[type] = { fpr: c.fpr, tpr: c.tpr };
  }
  return out;
}
