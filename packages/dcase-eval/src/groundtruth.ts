import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { readCsv } from './csv.js';
import { DuplicateFileError, GroundTruthError } from './errors.js';
import { type Domain, parseAttributePairs, parseName2023 } from './grammar.js';
import type { Edition } from './machines.js';
import type { DatasetScan } from './scan.js';

/** One test clip of the ground truth: its (evaluation) file name, label and, in 2023, domain. */
export interface TruthClip {
  file: string;
  label: 0 | 1;
  domain: Domain | null;
}

/** The clips one official score file covers: (type, ID) in 2020, (type, section) in 2023. */
export interface TruthUnit {
  type: string;
  /** machine ID (2020) or section (2023), two digits */
  group: string;
  clips: TruthClip[];
  /** 2023: original (attribute-bearing) file name -> evaluation file name, from ground_truth_attributes */
  aliases: Map<string, string>;
}

export interface GroundTruth {
  edition: Edition;
  /** where it came from, for messages */
  source: string;
  units: TruthUnit[];
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

function binaryCell(value: string | undefined, path: string, line: number, what: string): 0 | 1 {
  const v = value === undefined ? Number.NaN : Number(value.trim());
  if (v !== 0 && v !== 1) throw new GroundTruthError(`${path}:${line}: ${what} must be 0 or 1, got ${JSON.stringify(value)}`);
  return v;
}

function readTwoColumn(path: string): [string, string][] {
  if (!existsSync(path)) throw new GroundTruthError(`${path}: missing ground-truth file`);
  return readCsv(path).map((row, i) => {
    if (row.length < 2 || !row[0]) throw new GroundTruthError(`${path}:${i + 1}: expected "file,value", got ${JSON.stringify(row.join(','))}`);
    return [row[0], row[1]!];
  });
}

/**
 * The DCASE 2023 evaluator's ground truth (nttcslab/dcase2023_task2_evaluator): a folder holding
 * ground_truth_data/ (file,label), ground_truth_domain/ (file,0=source|1=target) and
 * ground_truth_attributes/ (file,original name without .wav), one
 * `ground_truth_<type>_section_<NN>_test.csv` per machine type and section. The machine types are
 * read from ground_truth_data/ the way the evaluator does (`ground_truth_*.csv`, 3rd `_` field).
 * ground_truth_attributes/ is optional here (without it, rows must use the evaluation names).
 */
export function loadGroundTruth2023(dir: string): GroundTruth {
  const root = resolve(dir);
  const dataDir = join(root, 'ground_truth_data');
  const domainDir = join(root, 'ground_truth_domain');
  const attrDir = join(root, 'ground_truth_attributes');
  for (const d of [dataDir, domainDir]) {
    if (!isDir(d)) {
      throw new GroundTruthError(
        `${d}: missing folder; a DCASE 2023 ground truth holds ground_truth_data/, ground_truth_domain/ and ground_truth_attributes/ (as in dcase2023_task2_evaluator)`,
      );
    }
  }
  const files = readdirSync(dataDir)
    .filter((f) => f.startsWith('ground_truth_') && f.endsWith('.csv'))
    .sort();
  if (files.length === 0) throw new GroundTruthError(`${dataDir}: no ground_truth_<type>_section_<NN>_test.csv files`);
  const units: TruthUnit[] = [];
  for (const f of files) {
    const m = /^ground_truth_([^_]+)_section_(\d{2})_test\.csv$/.exec(f);
    if (!m) throw new GroundTruthError(`${join(dataDir, f)}: name is not ground_truth_<type>_section_<NN>_test.csv`);
    const [, type, group] = m as unknown as [string, string, string];
    const dataPath = join(dataDir, f);
    const domainPath = join(domainDir, f);
    const labels = readTwoColumn(dataPath);
    const domains = new Map<string, Domain>();
    readTwoColumn(domainPath).forEach(([file, v], i) => {
      domains.set(file, binaryCell(v, domainPath, i + 1, 'domain') === 1 ? 'target' : 'source');
    });
    const seen = new Set<string>();
    const clips: TruthClip[] = labels.map(([file, v], i) => {
      if (seen.has(file)) throw new DuplicateFileError(`${dataPath}:${i + 1}: ${file} is listed twice`);
      seen.add(file);
      const domain = domains.get(file);
      if (!domain) throw new GroundTruthError(`${domainPath}: no domain for ${file} (listed in ${dataPath})`);
      return { file, label: binaryCell(v, dataPath, i + 1, 'label'), domain };
    });
    const aliases = new Map<string, string>();
    const attrPath = join(attrDir, f);
    if (existsSync(attrPath)) {
      for (const [file, original] of readTwoColumn(attrPath)) aliases.set(`${original}.wav`, file);
    }
    units.push({ type, group, clips, aliases });
  }
  return { edition: 2023, source: root, units };
}

/**
 * The DCASE 2020 evaluator's ground truth, eval_data_list.csv (Zenodo record 3951620): a line with
 * only the machine type starts each block, then rows `id_NN_XXXXXXXX.wav,<labelled name>,<0|1>`.
 * Accepts the CSV itself or a folder holding it.
 */
export function loadGroundTruth2020(pathOrDir: string): GroundTruth {
  let path = resolve(pathOrDir);
  if (isDir(path)) path = join(path, 'eval_data_list.csv');
  if (!existsSync(path)) throw new GroundTruthError(`${path}: missing; the DCASE 2020 ground truth is eval_data_list.csv (file, labelled name, label per row under a machine-type line)`);
  const rows = readCsv(path);
  const byUnit = new Map<string, TruthUnit>();
  const seen = new Set<string>();
  let type: string | undefined;
  rows.forEach((row, i) => {
    const line = i + 1;
    if (row.length < 2) {
      type = row[0]!.trim();
      return;
    }
    if (!type) throw new GroundTruthError(`${path}:${line}: clip row before any machine-type line`);
    if (row.length < 3) throw new GroundTruthError(`${path}:${line}: expected "file,labelled name,label", got ${JSON.stringify(row.join(','))}`);
    const file = row[0]!;
    const m = /id_(\d{2})/.exec(file);
    if (!m) throw new GroundTruthError(`${path}:${line}: ${file} carries no id_NN`);
    const key = `${type}/${file}`;
    if (seen.has(key)) throw new DuplicateFileError(`${path}:${line}: ${file} (${type}) is listed twice`);
    seen.add(key);
    const unitKey = `${type}/${m[1]!}`;
    let unit = byUnit.get(unitKey);
    if (!unit) {
      unit = { type, group: m[1]!, clips: [], aliases: new Map() };
      byUnit.set(unitKey, unit);
    }
    unit.clips.push({ file, label: binaryCell(row[2], path, line, 'label'), domain: null });
    unit.aliases.set(row[1]!, file);
  });
  if (byUnit.size === 0) throw new GroundTruthError(`${path}: no clips`);
  return { edition: 2020, source: path, units: [...byUnit.values()] };
}

/**
 * Ground truth from a scanned dataset's test clips, whose names carry label (and domain): the dev
 * sets, or any labelled copy. Unlabelled eval names cannot be evaluated this way.
 */
export function groundTruthFromScan(scan: DatasetScan): GroundTruth {
  const byUnit = new Map<string, TruthUnit>();
  for (const r of scan.records) {
    if (r.subset !== 'test') continue;
    if (r.label === 'unknown') {
      throw new GroundTruthError(
        `${r.path}: test clip without a label in its name; evaluate DCASE ${scan.edition} eval data with the official ground truth (--ground-truth)`,
      );
    }
    const group = (scan.edition === 2020 ? r.id : r.section)!;
    const key = `${r.type}/${group}`;
    let unit = byUnit.get(key);
    if (!unit) {
      unit = { type: r.type, group, clips: [], aliases: new Map() };
      byUnit.set(key, unit);
    }
    unit.clips.push({ file: r.file, label: r.label === 'anomaly' ? 1 : 0, domain: r.domain === 'source' || r.domain === 'target' ? r.domain : null });
  }
  if (byUnit.size === 0) throw new GroundTruthError(`${scan.root}: no test clips found`);
  return { edition: scan.edition, source: scan.root, units: [...byUnit.values()] };
}

/**
 * Fill in what unlabelled eval test names hide, from the official ground truth: label, and in 2023
 * domain and the attribute string (from the original name in ground_truth_attributes). Records the
 * ground truth does not list are returned unchanged; labelled records are never overwritten.
 */
export function applyGroundTruth(scan: DatasetScan, gt: GroundTruth): DatasetScan {
  if (gt.edition !== scan.edition) throw new GroundTruthError(`${gt.source}: DCASE ${gt.edition} ground truth for a DCASE ${scan.edition} dataset`);
  const byKey = new Map<string, { clip: TruthClip; original: string | undefined }>();
  for (const unit of gt.units) {
    const originals = new Map<string, string>();
    for (const [original, file] of unit.aliases) originals.set(file, original);
    for (const clip of unit.clips) byKey.set(`${unit.type}/${clip.file}`, { clip, original: originals.get(clip.file) });
  }
  const records = scan.records.map((r) => {
    if (r.label !== 'unknown') return r;
    const hit = byKey.get(`${r.type}/${r.file}`);
    if (!hit) return r;
    const label = hit.clip.label === 1 ? ('anomaly' as const) : ('normal' as const);
    if (scan.edition === 2020) return { ...r, label };
    const parsed = hit.original ? parseName2023(hit.original) : null;
    const attributes = parsed?.attributes ?? r.attributes;
    return {
      ...r,
      label,
      domain: hit.clip.domain ?? r.domain,
      attributes,
      attributePairs: attributes === null ? null : parseAttributePairs(attributes),
    };
  });
  return { ...scan, records };
}
