import { formatCsv, writeFileAtomic } from './csv.js';
import { MetricInputError } from './errors.js';
import {
  DCASE2020_MACHINE_TYPES,
  DCASE2023_DEV_MACHINE_TYPES,
  DCASE2023_EVAL_MACHINE_TYPES,
  splitOf,
  type Split,
} from './machines.js';
import { hmeanFloored, mean } from './metrics.js';

/**
 * The paper's result tables from per-(type, ID / section) AUC and pAUC (fractions in, fractions out;
 * the formatters print percent like the paper).
 *
 * Table 1 (DCASE 2020): per machine ID AUC and pAUC; per type the arithmetic mean over its IDs of
 * each; the type's figure is the mean of those two; dev / eval means are arithmetic means over the
 * six types' figures; `all` is the mean over all twelve figures (= mean of dev and eval means). The
 * paper prints 92.58 for (90.93 + 94.28) / 2 = 92.605, so its own `all` column does not follow any
 * mean of its printed numbers exactly; ours is the plain mean.
 *
 * Table 2 (DCASE 2023): per type the harmonic mean of AUC(source), AUC(target) and pAUC over its
 * sections; dev / eval / all are harmonic means over all those values of the split (each value
 * floored at machine epsilon, as dcase2023_task2_evaluator does). Because every type contributes
 * the same number of values, dev hmean equals the hmean of the per-type figures.
 */

export interface Table1Input {
  type: string;
  id: string;
  auc: number;
  pauc: number;
  /** overrides the dev / eval assignment looked up from DCASE2020_IDS (needed for non-standard IDs) */
  split?: Split;
}

export interface Table1Type {
  type: string;
  auc: number;
  pauc: number;
  /** (auc + pauc) / 2, the figure the paper prints */
  score: number;
  ids: string[];
}

export interface Table1 {
  edition: 2020;
  dev: { types: Table1Type[]; mean: number | null; auc: number | null; pauc: number | null };
  eval: { types: Table1Type[]; mean: number | null; auc: number | null; pauc: number | null };
  allMean: number | null;
}

export interface Table2Input {
  type: string;
  section: string;
  aucSource: number;
  aucTarget: number;
  pauc: number;
  split?: Split;
}

export interface Table2Type {
  type: string;
  /** arithmetic means over sections (one section in 2023) */
  aucSource: number;
  aucTarget: number;
  pauc: number;
  /** harmonic mean of all AUC(source), AUC(target), pAUC values of the type, the paper's figure */
  hmean: number;
  sections: string[];
}

export interface Table2 {
  edition: 2023;
  dev: { types: Table2Type[]; hmean: number | null };
  eval: { types: Table2Type[]; hmean: number | null };
  allHmean: number | null;
}

function splitFor(edition: 2020 | 2023, type: string, group: string, given: Split | undefined): Split {
  const s = given ?? splitOf(edition, type, edition === 2020 ? group : undefined);
  if (!s) {
    throw new MetricInputError(
      `cannot tell whether ${type} ${edition === 2020 ? `id_${group}` : `section_${group}`} belongs to the dev or eval set of DCASE ${edition}; pass split`,
    );
  }
  return s;
}

function typeOrder(edition: 2020 | 2023): readonly string[] {
  return edition === 2020 ? DCASE2020_MACHINE_TYPES : [...DCASE2023_DEV_MACHINE_TYPES, ...DCASE2023_EVAL_MACHINE_TYPES];
}

function orderedTypes(edition: 2020 | 2023, types: Iterable<string>): string[] {
  const order = typeOrder(edition);
  return [...new Set(types)].sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib) || (a < b ? -1 : a > b ? 1 : 0);
  });
}

export function buildTable1(rows: readonly Table1Input[]): Table1 {
  const half = (split: Split): Table1['dev'] => {
    const mine = rows.filter((r) => splitFor(2020, r.type, r.id, r.split) === split);
    const types = orderedTypes(
      2020,
      mine.map((r) => r.type),
    ).map((type) => {
      const rs = mine.filter((r) => r.type === type).sort((a, b) => (a.id < b.id ? -1 : 1));
      const auc = mean(rs.map((r) => r.auc));
      const pauc = mean(rs.map((r) => r.pauc));
      return { type, auc, pauc, score: (auc + pauc) / 2, ids: rs.map((r) => r.id) };
    });
    return {
      types,
      mean: types.length ? mean(types.map((t) => t.score)) : null,
      auc: types.length ? mean(types.map((t) => t.auc)) : null,
      pauc: types.length ? mean(types.map((t) => t.pauc)) : null,
    };
  };
  const dev = half('dev');
  const ev = half('eval');
  const all = [...dev.types, ...ev.types].map((t) => t.score);
  return { edition: 2020, dev, eval: ev, allMean: all.length ? mean(all) : null };
}

export function buildTable2(rows: readonly Table2Input[]): Table2 {
  const values = (rs: readonly Table2Input[]): number[] => [...rs.map((r) => r.aucSource), ...rs.map((r) => r.aucTarget), ...rs.map((r) => r.pauc)];
  const half = (split: Split): Table2['dev'] => {
    const mine = rows.filter((r) => splitFor(2023, r.type, r.section, r.split) === split);
    const types = orderedTypes(
      2023,
      mine.map((r) => r.type),
    ).map((type) => {
      const rs = mine.filter((r) => r.type === type).sort((a, b) => (a.section < b.section ? -1 : 1));
      return {
        type,
        aucSource: mean(rs.map((r) => r.aucSource)),
        aucTarget: mean(rs.map((r) => r.aucTarget)),
        pauc: mean(rs.map((r) => r.pauc)),
        hmean: hmeanFloored(values(rs)),
        sections: rs.map((r) => r.section),
      };
    });
    return { types, hmean: mine.length ? hmeanFloored(values(mine)) : null };
  };
  const dev = half('dev');
  const ev = half('eval');
  return { edition: 2023, dev, eval: ev, allHmean: rows.length ? hmeanFloored(values(rows)) : null };
}

/** One row, the paper's columns: dev types + dev mean, eval types + eval mean, all. Values in percent. */
export interface ResultTable {
  title: string;
  columns: string[];
  /** one entry per column; null where the run has no value (e.g. eval not evaluated) */
  values: (number | null)[];
}

const pct = (v: number | null): number | null => (v === null ? null : v * 100);

export function resultTable(table: Table1 | Table2, label = 'this run'): ResultTable & { label: string } {
  const columns: string[] = [];
  const values: (number | null)[] = [];
  if (table.edition === 2020) {
    for (const split of ['dev', 'eval'] as const) {
      const half = table[split];
      for (const t of half.types) {
        columns.push(`${split} ${t.type}`);
        values.push(pct(t.score));
      }
      columns.push(`${split} mean`);
      values.push(pct(half.mean));
    }
    columns.push('all mean');
    values.push(pct(table.allMean));
    return { title: 'DCASE 2020 Task 2 (Table 1): per type mean of AUC and pAUC, %', label, columns, values };
  }
  for (const split of ['dev', 'eval'] as const) {
    const half = table[split];
    for (const t of half.types) {
      columns.push(`${split} ${t.type}`);
      values.push(pct(t.hmean));
    }
    columns.push(`${split} hmean`);
    values.push(pct(half.hmean));
  }
  columns.push('all hmean');
  values.push(pct(table.allHmean));
  return { title: 'DCASE 2023 Task 2 (Table 2): harmonic mean of AUC(source), AUC(target), pAUC, %', label, columns, values };
}

const fmt2 = (v: number | null): string => (v === null ? '-' : v.toFixed(2));

export function resultTableMarkdown(t: ResultTable & { label: string }): string {
  const head = `| method | ${t.columns.join(' | ')} |`;
  const sep = `|---|${t.columns.map(() => '---:').join('|')}|`;
  const row = `| ${t.label} | ${t.values.map(fmt2).join(' | ')} |`;
  return `**${t.title}**\n\n${head}\n${sep}\n${row}\n`;
}

export function resultTableCsv(t: ResultTable & { label: string }): string {
  return formatCsv([
    ['method', ...t.columns],
    [t.label, ...t.values.map((v) => (v === null ? '' : v))],
  ]);
}

/**
 * Write `<base>.json`, `<base>.csv` and `<base>.md` atomically. The JSON holds the full table
 * (fractions) beside the percent row.
 */
export function writeResultTable(base: string, table: Table1 | Table2, options: { label?: string; overwrite?: boolean } = {}): string[] {
  const t = resultTable(table, options.label);
  const paths = [`${base}.json`, `${base}.csv`, `${base}.md`];
  const ow = { overwrite: options.overwrite ?? false };
  writeFileAtomic(paths[0]!, JSON.stringify({ ...t, table }, null, 1) + '\n', ow);
  writeFileAtomic(paths[1]!, resultTableCsv(t), ow);
  writeFileAtomic(paths[2]!, resultTableMarkdown(t), ow);
  return paths;
}
