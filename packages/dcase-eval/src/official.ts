import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { readCsv } from './csv.js';
import {
  CsvFormatError,
  DecisionValueError,
  DuplicateFileError,
  MetricInputError,
  NonFiniteScoreError,
  ScoreMismatchError,
  SingleClassError,
} from './errors.js';
import type { GroundTruth, TruthUnit } from './groundtruth.js';
import type { Split } from './machines.js';
import { officialScoreCi95 } from './jackknife.js';
import { auc, FLOAT_EPSILON, hmeanFloored, mean, pauc } from './metrics.js';
import { buildTable1, buildTable2, type Table1, type Table2 } from './tables.js';

/**
 * Evaluate a folder of official-format score CSVs against a ground truth, with the numbers of the
 * official evaluators (y-kawagu/dcase2020_task2_evaluator, nttcslab/dcase2023_task2_evaluator):
 *
 * - rows are `file,score` without header; the official scripts sort both lists and pair them by
 *   position, we pair them by file name and refuse missing, extra or duplicate files (the 2023 script
 *   silently drops a system with a missing file; both mis-pair silently on a renamed file);
 * - 2023 rows may use the original attribute-bearing names (`<name>.wav`), mapped to evaluation names
 *   through ground_truth_attributes as the evaluator does; a path prefix in the file column is ignored;
 * - decisions are read as int(float(v)) and must then be 0 or 1;
 * - AUC(source) = source normals vs anomalies of both domains, AUC(target) likewise, pAUC over the
 *   whole section; precision / recall / F1 per domain with max(., eps) denominators;
 * - every harmonic mean floors its inputs at sys.float_info.epsilon.
 */

export const MAX_FPR = 0.1;

export interface SubmissionOptions {
  /** baseline-style names: anomaly_score_DCASE2023T2<type>_section_<NN>_test_seed<seed><tag>_Eval.csv */
  seed?: string | number;
  tag?: string;
}

export interface UnitFiles {
  scoreFile: string;
  decisionFile: string | null;
}

function listCsv(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .sort();
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Locate the score (and decision) file of one unit; throws ScoreMismatchError naming what was expected. */
export function locateUnitFiles(dir: string, edition: 2020 | 2023, unit: TruthUnit, options: SubmissionOptions = {}, files = listCsv(dir)): UnitFiles {
  if (edition === 2020) {
    const name = `anomaly_score_${unit.type}_id_${unit.group}.csv`;
    if (!files.includes(name)) throw new ScoreMismatchError(`${join(dir, name)}: missing score file for ${unit.type} id_${unit.group}`);
    return { scoreFile: join(dir, name), decisionFile: null };
  }
  const plain = `anomaly_score_${unit.type}_section_${unit.group}_test.csv`;
  const plainDecision = `decision_result_${unit.type}_section_${unit.group}_test.csv`;
  if (files.includes(plain)) {
    return { scoreFile: join(dir, plain), decisionFile: files.includes(plainDecision) ? join(dir, plainDecision) : null };
  }
  const seed = options.seed === undefined ? '(\\d+)' : escapeRe(String(options.seed));
  const tag = options.tag === undefined ? '(.*?)' : escapeRe(options.tag);
  const re = new RegExp(`^anomaly_score_DCASE2023T2${escapeRe(unit.type)}_section_${unit.group}_test_seed${seed}${tag}_Eval\\.csv$`);
  const hits = files.filter((f) => re.test(f));
  if (hits.length > 1) {
    throw new ScoreMismatchError(
      `${dir}: ${hits.length} baseline-style score files for ${unit.type} section_${unit.group} (${hits.join(', ')}); pick one with --seed / --tag`,
    );
  }
  if (hits.length === 0) {
    throw new ScoreMismatchError(
      `${join(dir, plain)}: missing score file for ${unit.type} section_${unit.group} (also looked for anomaly_score_DCASE2023T2${unit.type}_section_${unit.group}_test_seed<seed><tag>_Eval.csv)`,
    );
  }
  const scoreName = hits[0]!;
  const decisionName = scoreName.replace(/^anomaly_score_/, 'decision_result_');
  return { scoreFile: join(dir, scoreName), decisionFile: files.includes(decisionName) ? join(dir, decisionName) : null };
}

/** Python float(): decimal / exponent literals, nan, inf, surrounding whitespace. */
function parsePyFloat(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (/^[+-]?nan$/.test(t)) return Number.NaN;
  const inf = /^([+-]?)inf(inity)?$/.exec(t);
  if (inf) return inf[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (!/^[+-]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(e[+-]?\d+)?$/.test(t)) return undefined;
  return Number(t.replace(/_/g, ''));
}

const listSome = (xs: string[]): string => xs.slice(0, 5).join(', ') + (xs.length > 5 ? `, ... (${xs.length - 5} more)` : '');

/**
 * Read one score or decision CSV and pair its rows with the unit's clips by name. Returns the values
 * in the order of unit.clips.
 */
export function readUnitValues(path: string, unit: TruthUnit, kind: 'score' | 'decision'): number[] {
  const rows = readCsv(path);
  const byFile = new Map<string, { value: number; line: number }>();
  rows.forEach((row, i) => {
    const line = i + 1;
    if (row.length < 2) throw new CsvFormatError(`${path}:${line}: expected "file,${kind}", got ${JSON.stringify(row.join(','))}`);
    const raw = row[0]!.trim();
    const base = raw.split(/[\\/]/).pop()!;
    const file = unit.aliases.get(base) ?? unit.aliases.get(`${base}.wav`) ?? base;
    const v = parsePyFloat(row[1]!);
    if (v === undefined) throw new CsvFormatError(`${path}:${line}: ${kind} ${JSON.stringify(row[1])} of ${raw} is not a number`);
    let value = v;
    if (kind === 'score') {
      if (!Number.isFinite(v)) throw new NonFiniteScoreError(`${path}:${line}: score of ${raw} is ${row[1]!.trim()}`);
    } else {
      if (!Number.isFinite(v)) throw new DecisionValueError(`${path}:${line}: decision of ${raw} is ${row[1]!.trim()}`);
      value = Math.trunc(v);
      if (value !== 0 && value !== 1) throw new DecisionValueError(`${path}:${line}: decision of ${raw} is ${row[1]!.trim()} (int ${value}); must be 0 or 1`);
    }
    const prev = byFile.get(file);
    if (prev) throw new DuplicateFileError(`${path}:${line}: ${file} already given on line ${prev.line}`);
    byFile.set(file, { value, line });
  });
  const known = new Set(unit.clips.map((c) => c.file));
  const missing = unit.clips.filter((c) => !byFile.has(c.file)).map((c) => c.file);
  const extra = [...byFile.keys()].filter((f) => !known.has(f));
  if (missing.length || extra.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`${missing.length} clip(s) of the ground truth missing (${listSome(missing)})`);
    if (extra.length) parts.push(`${extra.length} row(s) for files the ground truth does not list (${listSome(extra)})`);
    throw new ScoreMismatchError(`${path}: ${parts.join('; ')}`);
  }
  return unit.clips.map((c) => byFile.get(c.file)!.value);
}

export interface DomainDecisionScores {
  precision: number;
  recall: number;
  f1: number;
}

export interface UnitResult2023 {
  type: string;
  section: string;
  split: Split | null;
  scoreFile: string;
  decisionFile: string | null;
  clips: number;
  aucAll: number;
  aucSource: number;
  aucTarget: number;
  pauc: number;
  source: DomainDecisionScores | null;
  target: DomainDecisionScores | null;
}

export interface MetricRow {
  auc: number;
  pauc: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export interface MachineResult2023 {
  type: string;
  /** the evaluator's per-type rows (over sections and domains; pAUC counted once per domain) */
  arithmeticMean: MetricRow;
  harmonicMean: MetricRow;
  sourceHarmonicMean: MetricRow;
  targetHarmonicMean: MetricRow;
  /** the paper's per-type figure: hmean of AUC(source), AUC(target), pAUC of all sections */
  score: number;
}

export interface Evaluation2023 {
  edition: 2023;
  scoresDir: string;
  groundTruth: string;
  units: UnitResult2023[];
  machines: MachineResult2023[];
  overall: {
    /** hmean over all AUC(source), AUC(target), pAUC values: the DCASE 2023 ranking score */
    officialScore: number;
    /** mean over all AUC(source) and AUC(target) values */
    arithmeticMean: number;
    harmonicMeanSource: number;
    harmonicMeanTarget: number;
    /** the evaluator's "official score ci95" (jackknife over all clips pooled); null when not computed */
    officialScoreCi95: number | null;
    arithmeticMeanAll: MetricRow;
    harmonicMeanAll: MetricRow;
    sourceHarmonicMeanAll: MetricRow;
    targetHarmonicMeanAll: MetricRow;
  };
  table: Table2;
  /** things that did not stop the evaluation (missing decision files, unused CSV files) */
  warnings: string[];
}

export interface UnitResult2020 {
  type: string;
  id: string;
  split: Split | null;
  scoreFile: string;
  clips: number;
  auc: number;
  pauc: number;
}

export interface Evaluation2020 {
  edition: 2020;
  scoresDir: string;
  groundTruth: string;
  units: UnitResult2020[];
  /** the evaluator's per-type "Average" row */
  machines: { type: string; auc: number; pauc: number; score: number }[];
  table: Table1;
  warnings: string[];
}

function decisionScores(labels: number[], decisions: number[]): DomainDecisionScores {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    if (decisions[i] === 1 && labels[i] === 1) tp++;
    else if (decisions[i] === 1) fp++;
    else if (labels[i] === 1) fn++;
  }
  const precision = tp / Math.max(tp + fp, FLOAT_EPSILON);
  const recall = tp / Math.max(tp + fn, FLOAT_EPSILON);
  return { precision, recall, f1: (2.0 * precision * recall) / Math.max(precision + recall, FLOAT_EPSILON) };
}

/** Metrics of one 2023 section from values in unit.clips order. */
export function evaluateUnit2023(unit: TruthUnit, scores: number[], decisions: number[] | null): Omit<UnitResult2023, 'scoreFile' | 'decisionFile' | 'split'> {
  const where = `${unit.type} section_${unit.group}`;
  const labels = unit.clips.map((c) => c.label);
  const pick = (keep: (i: number) => boolean): [number[], number[]] => {
    const l: number[] = [];
    const s: number[] = [];
    labels.forEach((lab, i) => {
      if (keep(i)) {
        l.push(lab);
        s.push(scores[i]!);
      }
    });
    return [l, s];
  };
  const dom = unit.clips.map((c) => c.domain);
  const [ls, ss] = pick((i) => dom[i] === 'source' || labels[i] !== 0);
  const [lt, st] = pick((i) => dom[i] === 'target' || labels[i] !== 0);
  const byDomain = (d: 'source' | 'target'): DomainDecisionScores | null => {
    if (!decisions) return null;
    const l: number[] = [];
    const dec: number[] = [];
    labels.forEach((lab, i) => {
      if (dom[i] === d) {
        l.push(lab);
        dec.push(decisions[i]!);
      }
    });
    return decisionScores(l, dec);
  };
  return {
    type: unit.type,
    section: unit.group,
    clips: unit.clips.length,
    aucAll: auc(labels, scores, `${where}, AUC (all)`),
    aucSource: auc(ls, ss, `${where}, AUC (source)`),
    aucTarget: auc(lt, st, `${where}, AUC (target)`),
    pauc: pauc(labels, scores, MAX_FPR, `${where}, pAUC`),
    source: byDomain('source'),
    target: byDomain('target'),
  };
}

function metricRows(units: UnitResult2023[]): { am: MetricRow; hm: MetricRow; src: MetricRow; tgt: MetricRow } {
  const aucS = units.map((u) => u.aucSource);
  const aucT = units.map((u) => u.aucTarget);
  const p = units.map((u) => u.pauc);
  const haveDecisions = units.every((u) => u.source && u.target);
  const dec = (k: keyof DomainDecisionScores, d: 'source' | 'target'): number[] => units.map((u) => u[d]![k]);
  const row = (
    f: (xs: number[]) => number,
    sel: (s: number[], t: number[]) => number[],
  ): MetricRow => ({
    auc: f(sel(aucS, aucT)),
    pauc: f(sel(p, p)),
    precision: haveDecisions ? f(sel(dec('precision', 'source'), dec('precision', 'target'))) : null,
    recall: haveDecisions ? f(sel(dec('recall', 'source'), dec('recall', 'target'))) : null,
    f1: haveDecisions ? f(sel(dec('f1', 'source'), dec('f1', 'target'))) : null,
  });
  return {
    am: row(mean, (s, t) => [...s, ...t]),
    hm: row(hmeanFloored, (s, t) => [...s, ...t]),
    src: row(hmeanFloored, (s) => s),
    tgt: row(hmeanFloored, (_s, t) => t),
  };
}

function unusedFiles(dir: string, used: Set<string>): string[] {
  return listCsv(dir)
    .filter((f) => /^(anomaly_score|decision_result)_/.test(f) && !used.has(join(dir, f)))
    .map((f) => `${join(dir, f)}: not used (no matching machine type / section / ID in the ground truth)`);
}

function checkScoresDir(dir: string): string {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new ScoreMismatchError(`${abs}: score folder does not exist`);
  return abs;
}

/** Evaluate a 2023 submission folder (both file-name styles the official evaluator accepts). */
export function evaluateSubmission2023(scoresDir: string, gt: GroundTruth, options: SubmissionOptions & { split?: Split } = {}): Evaluation2023 {
  const dir = checkScoresDir(scoresDir);
  const files = listCsv(dir);
  const warnings: string[] = [];
  const used = new Set<string>();
  const units: UnitResult2023[] = [];
  const pooled = { labels: [] as number[], scores: [] as number[] };
  for (const unit of gt.units) {
    const loc = locateUnitFiles(dir, 2023, unit, options, files);
    used.add(loc.scoreFile);
    const scores = readUnitValues(loc.scoreFile, unit, 'score');
    let decisions: number[] | null = null;
    if (loc.decisionFile) {
      used.add(loc.decisionFile);
      decisions = readUnitValues(loc.decisionFile, unit, 'decision');
    } else {
      warnings.push(`${loc.scoreFile.replace(/anomaly_score_([^/\\]*)$/, 'decision_result_$1')}: missing; precision / recall / F1 not computed for ${unit.type}`);
    }
    const r = evaluateUnit2023(unit, scores, decisions);
    units.push({ ...r, scoreFile: loc.scoreFile, decisionFile: loc.decisionFile, split: options.split ?? null });
    pooled.labels.push(...unit.clips.map((c) => c.label));
    pooled.scores.push(...scores);
  }
  warnings.push(...unusedFiles(dir, used));
  return assemble2023(dir, gt.source, units, warnings, pooled);
}

/**
 * The jackknife needs both classes in every leave-one-out subset; with a single anomaly (or normal)
 * in the whole evaluation the official script crashes, we report the interval as unavailable.
 */
function ci95OrWarn(pooled: { labels: number[]; scores: number[] }, warnings: string[]): number | null {
  try {
    return officialScoreCi95(pooled.labels, pooled.scores, MAX_FPR);
  } catch (err) {
    if (err instanceof SingleClassError || err instanceof MetricInputError) {
      warnings.push(`official score ci95 not computed: ${err.message}`);
      return null;
    }
    throw err;
  }
}

/** Aggregate 2023 unit results the way the official evaluator and the paper's Table 2 do. */
export function assemble2023(
  scoresDir: string,
  groundTruth: string,
  units: UnitResult2023[],
  warnings: string[] = [],
  pooled?: { labels: number[]; scores: number[] },
): Evaluation2023 {
  const types = [...new Set(units.map((u) => u.type))];
  const machines: MachineResult2023[] = types.map((type) => {
    const us = units.filter((u) => u.type === type);
    const { am, hm, src, tgt } = metricRows(us);
    return {
      type,
      arithmeticMean: am,
      harmonicMean: hm,
      sourceHarmonicMean: src,
      targetHarmonicMean: tgt,
      score: hmeanFloored([...us.map((u) => u.aucSource), ...us.map((u) => u.aucTarget), ...us.map((u) => u.pauc)]),
    };
  });
  const { am, hm, src, tgt } = metricRows(units);
  const aucS = units.map((u) => u.aucSource);
  const aucT = units.map((u) => u.aucTarget);
  return {
    edition: 2023,
    scoresDir,
    groundTruth,
    units,
    machines,
    overall: {
      officialScore: hmeanFloored([...aucS, ...aucT, ...units.map((u) => u.pauc)]),
      arithmeticMean: mean([...aucS, ...aucT]),
      harmonicMeanSource: hmeanFloored(aucS),
      harmonicMeanTarget: hmeanFloored(aucT),
      officialScoreCi95: pooled ? ci95OrWarn(pooled, warnings) : null,
      arithmeticMeanAll: am,
      harmonicMeanAll: hm,
      sourceHarmonicMeanAll: src,
      targetHarmonicMeanAll: tgt,
    },
    table: buildTable2(
      units.map((u) => ({ type: u.type, section: u.section, aucSource: u.aucSource, aucTarget: u.aucTarget, pauc: u.pauc, ...(u.split ? { split: u.split } : {}) })),
    ),
    warnings,
  };
}

/** Evaluate a 2020 submission folder (anomaly_score_<type>_id_<NN>.csv). */
export function evaluateSubmission2020(scoresDir: string, gt: GroundTruth, options: { split?: Split } = {}): Evaluation2020 {
  const dir = checkScoresDir(scoresDir);
  const files = listCsv(dir);
  const used = new Set<string>();
  const units: UnitResult2020[] = [];
  for (const unit of gt.units) {
    const loc = locateUnitFiles(dir, 2020, unit, {}, files);
    used.add(loc.scoreFile);
    const scores = readUnitValues(loc.scoreFile, unit, 'score');
    const labels = unit.clips.map((c) => c.label);
    const where = `${unit.type} id_${unit.group}`;
    units.push({
      type: unit.type,
      id: unit.group,
      split: options.split ?? null,
      scoreFile: loc.scoreFile,
      clips: unit.clips.length,
      auc: auc(labels, scores, `${where}, AUC`),
      pauc: pauc(labels, scores, MAX_FPR, `${where}, pAUC`),
    });
  }
  return assemble2020(dir, gt.source, units, unusedFiles(dir, used));
}

export function assemble2020(scoresDir: string, groundTruth: string, units: UnitResult2020[], warnings: string[] = []): Evaluation2020 {
  const types = [...new Set(units.map((u) => u.type))];
  units.sort((a, b) => types.indexOf(a.type) - types.indexOf(b.type) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const machines = types.map((type) => {
    const us = units.filter((u) => u.type === type);
    const a = mean(us.map((u) => u.auc));
    const p = mean(us.map((u) => u.pauc));
    return { type, auc: a, pauc: p, score: (a + p) / 2 };
  });
  return {
    edition: 2020,
    scoresDir,
    groundTruth,
    units,
    machines,
    table: buildTable1(units.map((u) => ({ type: u.type, id: u.id, auc: u.auc, pauc: u.pauc, ...(u.split ? { split: u.split } : {}) }))),
    warnings,
  };
}

export interface EvaluateOptions extends SubmissionOptions {
  edition: 2020 | 2023;
  /** folder of official-format score CSVs */
  scores: string;
  /** a dataset root whose test names carry labels (dev data), scanned with scanDataset */
  data?: { root: string; split: Split };
  /** the official evaluator's ground truth: 2023 folder with ground_truth_{data,domain,attributes}/, 2020 eval_data_list.csv */
  groundTruth?: string;
}

/** Key of a clip in the maps evaluateInMemory takes: `<type>/<file>` (file names repeat across types). */
export const clipKey = (type: string, file: string): string => `${type}/${file}`;

function valuesFor(unit: TruthUnit, map: ReadonlyMap<string, number>, kind: 'score' | 'decision'): number[] {
  const missing: string[] = [];
  const out = unit.clips.map((c) => {
    const v = map.get(clipKey(unit.type, c.file));
    if (v === undefined) {
      missing.push(c.file);
      return Number.NaN;
    }
    if (kind === 'score' && !Number.isFinite(v)) throw new NonFiniteScoreError(`${unit.type}/${c.file}: score is ${v}`);
    if (kind === 'decision' && v !== 0 && v !== 1) throw new DecisionValueError(`${unit.type}/${c.file}: decision is ${v}; must be 0 or 1`);
    return v;
  });
  if (missing.length) throw new ScoreMismatchError(`${unit.type} ${unit.group}: no ${kind} for ${missing.length} clip(s) (${listSome(missing)})`);
  return out;
}

/**
 * Evaluate scores held in memory (keyed by clipKey(type, file)) against a ground truth, with the same
 * numbers as the file-based evaluation: for pipelines that score clips and want the tables directly.
 * Clips in the maps that the ground truth does not list are ignored.
 */
export function evaluateInMemory(
  gt: GroundTruth,
  scores: ReadonlyMap<string, number>,
  options: { decisions?: ReadonlyMap<string, number>; split?: Split } = {},
): Evaluation2020 | Evaluation2023 {
  if (gt.edition === 2023) {
    const pooled = { labels: [] as number[], scores: [] as number[] };
    const units = gt.units.map((unit) => {
      const s = valuesFor(unit, scores, 'score');
      const d = options.decisions ? valuesFor(unit, options.decisions, 'decision') : null;
      pooled.labels.push(...unit.clips.map((c) => c.label));
      pooled.scores.push(...s);
      return { ...evaluateUnit2023(unit, s, d), scoreFile: '', decisionFile: null, split: options.split ?? null };
    });
    return assemble2023('', gt.source, units, [], pooled);
  }
  const units = gt.units.map((unit) => {
    const s = valuesFor(unit, scores, 'score');
    const labels = unit.clips.map((c) => c.label);
    const where = `${unit.type} id_${unit.group}`;
    return {
      type: unit.type,
      id: unit.group,
      split: options.split ?? null,
      scoreFile: '',
      clips: unit.clips.length,
      auc: auc(labels, s, `${where}, AUC`),
      pauc: pauc(labels, s, MAX_FPR, `${where}, pAUC`),
    };
  });
  return assemble2020('', gt.source, units);
}
