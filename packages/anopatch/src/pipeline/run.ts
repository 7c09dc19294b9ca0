import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import {
  buildTable1,
  buildTable2,
  evaluateScores,
  scanDataset,
  writeResultFiles2023,
  writeResultTable,
  writeScoreFile2020,
  type ClipRecord,
  type Edition,
  type Evaluation2020,
  type Evaluation2023,
  type Split,
  type Table1,
  type Table2,
} from '@anopatch/dcase-eval';

import { writeFileAtomic } from '../io/atomic.js';

import { EmbeddingCache } from './cache.js';
import { buildDetector, groupOf, groupThreshold, type BankChoice, type ScoredClip } from './detect.js';
import { clipInfo, EMBEDDINGS_JSON, embedFiles, loadEmbeddingSet, saveEmbeddingSet, type EmbeddingSet } from './embed.js';
import type { ClipEmbedder } from './embedder.js';
import { checkInterrupted, DataDirError } from './errors.js';
import { fileHash } from './hash.js';
import type { ProgressFn } from './progress.js';

export interface EmbedSplitOptions {
  data: string;
  edition: Edition;
  split: Split;
  /** where embeddings.json / embeddings.npy go */
  out: string;
  embedder: ClipEmbedder;
  /** content-hash cache root (default: none) */
  cacheDir?: string;
  batchSize?: number;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

function scan(data: string, edition: Edition, split: Split): ClipRecord[] {
  const root = resolve(data);
  if (!existsSync(root)) throw new DataDirError(root, 'data folder does not exist; pass --data <root of a DCASE set> (or run `anopatch demo` to make a synthetic one)');
  const s = scanDataset(root, { edition, split });
  if (s.records.length === 0) {
    const other = edition === 2020 ? 2023 : 2020;
    const why = s.unknown.length > 0 ? `; ${s.unknown.length} entries do not follow its names (e.g. ${s.unknown[0]!.path}: ${s.unknown[0]!.reason}) — is it a DCASE ${other} set (--edition ${other})?` : '';
    throw new DataDirError(s.root, `no DCASE ${edition} ${split} clips found${why}`);
  }
  return s.records;
}

/**
 * Embed every train and test clip of one split and save the embedding set. Reuses a saved set made
 * by the same model over the same files; otherwise embeds with the content-hash cache.
 */
export async function embedSplit(options: EmbedSplitOptions): Promise<{ set: EmbeddingSet; embeddings: Float32Array[]; reused: boolean; cached: number }> {
  const { data, edition, split, out, embedder } = options;
  const root = resolve(data);
  const records = scan(root, edition, split);
  const clips = records.map((r) => clipInfo(r, root));
  if (existsSync(join(out, EMBEDDINGS_JSON))) {
    try {
      const prev = loadEmbeddingSet(out);
      // same model, same files in the same order, same bytes (hashing is far cheaper than embedding)
      const same =
        prev.set.modelHash === embedder.hash &&
        prev.set.clips.length === clips.length &&
        prev.set.clips.every((c, i) => c.path === clips[i]!.path && c.sha256 !== undefined && c.sha256 === fileHash(records[i]!.path));
      if (same) {
        options.onProgress?.({ stage: `embed ${split}`, done: clips.length, total: clips.length, cached: clips.length });
        return { ...prev, reused: true, cached: clips.length };
      }
    } catch {
      // an unreadable previous set is simply recomputed (the cache still saves the model time)
    }
  }
  const cache = options.cacheDir ? new EmbeddingCache(options.cacheDir, embedder.hash, embedder.dim) : undefined;
  const { embeddings, hashes, cached } = await embedFiles(
    records.map((r) => r.path),
    embedder,
    {
      ...(cache ? { cache } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      stage: `embed ${split}`,
    },
  );
  const set: EmbeddingSet = {
    format: 'anopatch-embeddings',
    version: 1,
    edition,
    split,
    dataRoot: root,
    modelHash: embedder.hash,
    model: embedder.description,
    dim: embedder.dim,
    clips: clips.map((c, i) => ({ ...c, sha256: hashes[i]! })),
  };
  saveEmbeddingSet(out, set, embeddings);
  return { set, embeddings, reused: false, cached };
}

export interface ScoreSetOptions {
  /** folder for the official score (and 2023 decision) CSVs */
  out: string;
  bank?: BankChoice;
  k?: number;
  /** also save the banks here (reloadable with knn-backend's GroupedDetector.load) */
  banksDir?: string;
  /** also write every test clip's score and nearest training clip here (CSV) */
  clipScoresFile?: string;
}

export interface ScoreSetResult {
  scored: ScoredClip[];
  files: string[];
  /** 2023 decision thresholds per bank group */
  thresholds: Record<string, number>;
}

/**
 * Build the paper's banks from an embedding set's training clips, score its test clips and write the
 * official CSVs (2020 anomaly_score_<type>_id_<NN>.csv; 2023 anomaly_score_ and decision_result_
 * <type>_section_<NN>_test.csv), optionally a CSV of every clip's score and nearest training clip.
 */
export function scoreEmbeddingSet(set: EmbeddingSet, embeddings: readonly Float32Array[], options: ScoreSetOptions): ScoreSetResult {
  const detector = buildDetector(set.edition, set.clips, embeddings, { ...(options.bank ? { bank: options.bank } : {}), ...(options.k ? { k: options.k } : {}) });
  const testIdx = set.clips.flatMap((c, i) => (c.subset === 'test' ? [i] : []));
  if (testIdx.length === 0) throw new DataDirError(set.dataRoot, `no ${set.split} test clips to score`);
  const scored = detector.score(
    testIdx.map((i) => set.clips[i]!),
    testIdx.map((i) => embeddings[i]!),
  );
  const byGroup = new Map<string, ScoredClip[]>();
  for (const s of scored) {
    const g = groupOf(set.edition, s.clip);
    byGroup.set(g, [...(byGroup.get(g) ?? []), s]);
  }
  const files: string[] = [];
  const thresholds: Record<string, number> = {};
  for (const [g, rows] of byGroup) {
    const { type, group } = rows[0]!.clip;
    const clipScores = rows.map((r) => ({ file: r.clip.file, score: r.score }));
    if (set.edition === 2020) {
      files.push(writeScoreFile2020(options.out, type, group, clipScores, { overwrite: true }));
    } else {
      thresholds[g] = groupThreshold(detector, g);
      const w = writeResultFiles2023(options.out, type, group, clipScores, thresholds[g], { overwrite: true });
      files.push(w.scoreFile, w.decisionFile);
    }
  }
  const lines = ['file,type,group,domain,label,score,nearest_train_clip', ...scored.map((s) => [s.clip.path, s.clip.type, s.clip.group, s.clip.domain ?? '', s.clip.label, s.score, s.neighbour].join(','))];
  if (options.clipScoresFile) {
    writeFileAtomic(options.clipScoresFile, lines.join('\n') + '\n');
    files.push(options.clipScoresFile);
  }
  if (options.banksDir) detector.save(options.banksDir);
  return { scored, files, thresholds };
}

export interface PipelineOptions {
  data: string;
  edition: Edition;
  /** default: every split present under data/ */
  splits?: Split[];
  out: string;
  embedder: ClipEmbedder;
  /** content-hash embedding cache (default <out>/cache) */
  cacheDir?: string;
  /** official ground truth for the eval split (default <data>/ground_truth when it exists, as dcase-synth writes it) */
  groundTruth?: string;
  bank?: BankChoice;
  k?: number;
  batchSize?: number;
  /** names the run in result tables */
  label?: string;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

export interface SplitRun {
  split: Split;
  trainClips: number;
  testClips: number;
  embeddingsReused: boolean;
  embeddingsFromCache: number;
  scoresDir: string;
  evaluation: Evaluation2020 | Evaluation2023 | null;
  /** why the split was not evaluated (no labels, no ground truth) */
  notEvaluated?: string;
}

export interface PipelineResult {
  edition: Edition;
  out: string;
  splits: SplitRun[];
  table: Table1 | Table2 | null;
  /** every file written, relative to out */
  files: string[];
}

function splitsPresent(data: string): Split[] {
  const out: Split[] = [];
  for (const s of ['dev', 'eval'] as const) if (existsSync(join(data, `${s}_data`))) out.push(s);
  return out.length > 0 ? out : ['dev'];
}

function evalGroundTruth(options: PipelineOptions): string | undefined {
  if (options.groundTruth) return options.groundTruth;
  const gt = join(options.data, 'ground_truth');
  return existsSync(gt) ? gt : undefined;
}

/** embed -> banks -> score -> official CSVs -> evaluate (dcase-eval) -> result tables, per split. */
export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const out = resolve(options.out);
  const data = resolve(options.data);
  if (!existsSync(data)) throw new DataDirError(data, 'data folder does not exist; pass --data <root of a DCASE set>');
  const splits = options.splits ?? splitsPresent(data);
  const cacheDir = options.cacheDir ?? join(out, 'cache');
  const runs: SplitRun[] = [];
  const files: string[] = [];
  const evaluations: (Evaluation2020 | Evaluation2023)[] = [];
  for (const split of splits) {
    checkInterrupted(options.signal);
    const emb = await embedSplit({
      data,
      edition: options.edition,
      split,
      out: join(out, 'embeddings', split),
      embedder: options.embedder,
      cacheDir,
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    files.push(`embeddings/${split}/embeddings.json`, `embeddings/${split}/embeddings.npy`);
    checkInterrupted(options.signal);
    const scoresDir = join(out, 'scores', split);
    const scoring = scoreEmbeddingSet(emb.set, emb.embeddings, {
      out: scoresDir,
      banksDir: join(out, 'banks', split),
      clipScoresFile: join(out, `clip_scores_${split}.csv`),
      ...(options.bank ? { bank: options.bank } : {}),
      ...(options.k ? { k: options.k } : {}),
    });
    files.push(...scoring.files.map((f) => f.slice(out.length + 1)));
    options.onProgress?.({ stage: `score ${split}`, done: scoring.scored.length, total: scoring.scored.length });
    const run: SplitRun = {
      split,
      trainClips: emb.set.clips.filter((c) => c.subset === 'train').length,
      testClips: scoring.scored.length,
      embeddingsReused: emb.reused,
      embeddingsFromCache: emb.cached,
      scoresDir,
      evaluation: null,
    };
    const labelled = emb.set.clips.every((c) => c.subset === 'train' || c.label !== 'unknown');
    const gt = split === 'eval' && !labelled ? evalGroundTruth({ ...options, data }) : undefined;
    if (labelled) {
      run.evaluation = evaluateScores({ edition: options.edition, scores: scoresDir, data: { root: data, split } });
    } else if (gt) {
      run.evaluation = evaluateScores({ edition: options.edition, scores: scoresDir, groundTruth: gt });
    } else {
      run.notEvaluated = `${split} test clips carry no labels and no ground truth was given (--ground-truth)`;
    }
    if (run.evaluation) evaluations.push(run.evaluation);
    runs.push(run);
  }
  let table: Table1 | Table2 | null = null;
  if (evaluations.length > 0) {
    const splitOfRun = (e: Evaluation2020 | Evaluation2023): Split => runs.find((r) => r.evaluation === e)!.split;
    if (options.edition === 2020) {
      table = buildTable1(
        (evaluations as Evaluation2020[]).flatMap((e) => e.units.map((u) => ({ type: u.type, id: u.id, auc: u.auc, pauc: u.pauc, split: splitOfRun(e) }))),
      );
    } else {
      table = buildTable2(
        (evaluations as Evaluation2023[]).flatMap((e) =>
          e.units.map((u) => ({ type: u.type, section: u.section, aucSource: u.aucSource, aucTarget: u.aucTarget, pauc: u.pauc, split: splitOfRun(e) })),
        ),
      );
    }
    const written = writeResultTable(join(out, 'results'), table, { label: options.label ?? 'this run', overwrite: true });
    files.push(...written.map((f) => f.slice(out.length + 1)));
    const units = join(out, 'results_per_unit.csv');
    writeFileAtomic(units, unitCsv(options.edition, runs));
    files.push('results_per_unit.csv');
  }
  return { edition: options.edition, out, splits: runs, table, files };
}

function unitCsv(edition: Edition, runs: readonly SplitRun[]): string {
  const pct = (v: number): string => (v * 100).toFixed(2);
  if (edition === 2020) {
    const rows = ['split,type,id,clips,AUC,pAUC'];
    for (const r of runs) for (const u of (r.evaluation as Evaluation2020 | null)?.units ?? []) rows.push([r.split, u.type, u.id, u.clips, pct(u.auc), pct(u.pauc)].join(','));
    return rows.join('\n') + '\n';
  }
  const rows = ['split,type,section,clips,AUC_source,AUC_target,pAUC'];
  for (const r of runs) {
    for (const u of (r.evaluation as Evaluation2023 | null)?.units ?? []) rows.push([r.split, u.type, u.section, u.clips, pct(u.aucSource), pct(u.aucTarget), pct(u.pauc)].join(','));
  }
  return rows.join('\n') + '\n';
}
