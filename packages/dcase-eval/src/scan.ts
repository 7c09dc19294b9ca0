import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { readCsv } from './csv.js';
import { DatasetLayoutError } from './errors.js';
import { type Domain, type Label, parseAttributePairs, parseName2020, parseName2023, type Subset } from './grammar.js';
import { type Edition, machineTypes, type Split } from './machines.js';

/** One audio clip of a DCASE dataset, everything its path and name say about it. */
export interface ClipRecord {
  path: string;
  file: string;
  edition: Edition;
  split: Split;
  type: string;
  subset: Subset;
  /** 2020 machine ID ('00'); null in 2023 */
  id: string | null;
  /** 2023 section ('00'); null in 2020 */
  section: string | null;
  /** 2023 domain; 'unknown' for unlabelled eval test names; null in 2020 (no domains) */
  domain: Domain | 'unknown' | null;
  /** 2023 raw attribute string (from the name, else attributes_00.csv); null when unknown or 2020 */
  attributes: string | null;
  /** the attribute string as key/value pairs when it pairs up */
  attributePairs: [string, string][] | null;
  label: Label | 'unknown';
  /** clip index as written in the name */
  index: string;
}

export interface UnknownEntry {
  path: string;
  reason: string;
}

export interface TypeSummary {
  type: string;
  train: number;
  test: number;
  normal: number;
  anomaly: number;
  unknownLabel: number;
  /** IDs (2020) or sections (2023) found, sorted */
  groups: string[];
  source: number;
  target: number;
}

export interface DatasetScan {
  root: string;
  edition: Edition;
  split: Split;
  records: ClipRecord[];
  /** files and folders that do not follow the layout; reported, never silently dropped */
  unknown: UnknownEntry[];
  summary: { types: TypeSummary[]; total: number; unknown: number };
}

export interface ScanOptions {
  edition: Edition;
  split: Split;
  /** machine types that must be present (default: whichever of the split's types are there, at least one) */
  types?: readonly string[];
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

/**
 * Where the machine-type folders live: `root/<split>_data[/raw]` when it exists (the Zenodo zips
 * and the 2023 baseline's data/ tree), otherwise `root` itself.
 */
export function resolveSplitRoot(root: string, split: Split): string {
  const abs = resolve(root);
  if (!isDir(abs)) throw new DatasetLayoutError(`${abs}: dataset folder does not exist`);
  for (const candidate of [join(abs, `${split}_data`, 'raw'), join(abs, `${split}_data`)]) {
    if (isDir(candidate) && readdirSync(candidate).some((d) => isDir(join(candidate, d, 'test')) || isDir(join(candidate, d, 'train')))) {
      return candidate;
    }
  }
  return abs;
}

/** attributes_00.csv: `file_name,d1p,d1v,...`; file_name is `<type>/<subset>/<clip>.wav`. */
function readAttributesCsv(path: string): Map<string, string> {
  const rows = readCsv(path);
  const out = new Map<string, string>();
  for (const row of rows.slice(1)) {
    const name = row[0];
    if (!name) continue;
    const values = row.slice(1).filter((v) => v !== '');
    const file = name.split('/').pop()!;
    out.set(file, values.join('_'));
  }
  return out;
}

/**
 * Scan a DCASE 2020 or 2023 Task 2 dataset as downloaded and unzipped. Every `.wav` under
 * `<type>/{train,test}/` becomes a typed record; names outside the grammar, stray files and folders
 * that are not machine types are listed in `unknown`. A missing folder throws DatasetLayoutError
 * naming what was expected.
 */
export function scanDataset(root: string, options: ScanOptions): DatasetScan {
  const { edition, split } = options;
  const base = resolveSplitRoot(root, split);
  const known = machineTypes(edition, split);
  const entries = readdirSync(base).sort();
  const unknown: UnknownEntry[] = [];
  const present: string[] = [];
  for (const e of entries) {
    const p = join(base, e);
    if (known.includes(e) && isDir(p)) present.push(e);
    else if (!e.startsWith('.')) unknown.push({ path: p, reason: `not a machine type of DCASE ${edition} ${split} (${known.join(', ')})` });
  }
  const wanted = options.types ?? present;
  const missing = wanted.filter((t) => !present.includes(t));
  if (missing.length > 0 || wanted.length === 0) {
    const what = missing.length > 0 ? missing : known;
    const where = base === resolve(root) ? ` (directly or under ${split}_data/)` : '';
    throw new DatasetLayoutError(
      `${base}: expected machine-type folder(s) ${what.map((t) => `${t}/`).join(', ')} with train/ and test/ inside${where} (DCASE ${edition} ${split} layout)`,
    );
  }
  const ordered = known.filter((t) => wanted.includes(t));
  const records: ClipRecord[] = [];
  for (const type of ordered) {
    const typeDir = join(base, type);
    for (const subset of ['train', 'test'] as const) {
      if (!isDir(join(typeDir, subset))) {
        throw new DatasetLayoutError(`${join(typeDir, subset)}: missing folder; expected ${type}/train/ and ${type}/test/ (DCASE ${edition} ${split} layout)`);
      }
    }
    let attrCsv: Map<string, string> | undefined;
    if (edition === 2023) {
      const csvs = readdirSync(typeDir).filter((f) => /^attributes_\d{2}\.csv$/.test(f));
      for (const f of csvs) {
        const m = readAttributesCsv(join(typeDir, f));
        attrCsv ??= new Map();
        for (const [k, v] of m) attrCsv.set(k, v);
      }
    }
    for (const subset of ['train', 'test'] as const) {
      const dir = join(typeDir, subset);
      for (const file of readdirSync(dir).sort()) {
        const path = join(dir, file);
        if (file.startsWith('.')) continue;
        if (!file.endsWith('.wav')) {
          unknown.push({ path, reason: 'not a .wav file' });
          continue;
        }
        const rec = edition === 2020 ? record2020(path, file, split, type, subset) : record2023(path, file, split, type, subset, attrCsv);
        if (typeof rec === 'string') unknown.push({ path, reason: rec });
        else records.push(rec);
      }
    }
  }
  return { root: base, edition, split, records, unknown, summary: summarise(records, ordered, unknown.length) };
}

function record2020(path: string, file: string, split: Split, type: string, subset: Subset): ClipRecord | string {
  const n = parseName2020(file);
  if (!n) return 'name does not follow DCASE 2020 grammar ({normal,anomaly}_id_NN_NNNNNNNN.wav or id_NN_NNNNNNNN.wav)';
  if (subset === 'train' && n.label !== 'normal') return `training clip must be named normal_id_..., got ${file}`;
  return {
    path,
    file,
    edition: 2020,
    split,
    type,
    subset,
    id: n.id,
    section: null,
    domain: null,
    attributes: null,
    attributePairs: null,
    label: n.label ?? 'unknown',
    index: n.index,
  };
}

function record2023(
  path: string,
  file: string,
  split: Split,
  type: string,
  subset: Subset,
  attrCsv: Map<string, string> | undefined,
): ClipRecord | string {
  const n = parseName2023(file);
  if (!n) return 'name does not follow DCASE 2023 grammar (section_NN_{source,target}_{train,test}_{normal,anomaly}_NNNN_<attr>.wav or section_NN_NNNN.wav)';
  if (n.subset !== undefined && n.subset !== subset) return `name says ${n.subset} but the clip is in ${subset}/`;
  if (n.subset === undefined && subset === 'train') return 'unlabelled name (section_NN_NNNN.wav) in train/';
  let attributes = n.attributes ?? null;
  if ((attributes === null || attributes === '') && attrCsv) {
    const fromCsv = attrCsv.get(file);
    if (fromCsv) attributes = fromCsv;
  }
  return {
    path,
    file,
    edition: 2023,
    split,
    type,
    subset,
    id: null,
    section: n.section,
    domain: n.domain ?? 'unknown',
    attributes,
    attributePairs: attributes === null ? null : parseAttributePairs(attributes),
    label: n.label ?? 'unknown',
    index: n.index,
  };
}

function summarise(records: ClipRecord[], types: string[], unknownCount: number): DatasetScan['summary'] {
  const out: TypeSummary[] = types.map((type) => {
    const rs = records.filter((r) => r.type === type);
    const groups = [...new Set(rs.map((r) => r.id ?? r.section ?? ''))].sort();
    return {
      type,
      train: rs.filter((r) => r.subset === 'train').length,
      test: rs.filter((r) => r.subset === 'test').length,
      normal: rs.filter((r) => r.label === 'normal').length,
      anomaly: rs.filter((r) => r.label === 'anomaly').length,
      unknownLabel: rs.filter((r) => r.label === 'unknown').length,
      groups,
      source: rs.filter((r) => r.domain === 'source').length,
      target: rs.filter((r) => r.domain === 'target').length,
    };
  });
  return { types: out, total: records.length, unknown: unknownCount };
}
