import {
  ANOPATCH,
  DCASE2020_TYPES,
  DCASE2023_DEV_TYPES,
  DCASE2023_EVAL_TYPES,
  paperTable1,
  paperTable2,
  paperTable3,
  type PaperSystemRow,
  type SplitFigures,
} from './paper/index.js';

/** A results table as the bench writes it (markdown, CSV, JSON): one row per system, numbers in percent. */
export interface ResultTable {
  title: string;
  columns: string[];
  rows: { label: string; values: (number | null)[]; note?: string }[];
  /** Printed under the table: what the numbers are and are not. */
  notes: string[];
}

/** Our per-type figures for one edition: the same shape as the paper's (percent). */
export interface OurFigures {
  dev: Record<string, number>;
  eval: Record<string, number>;
  all: number;
}

const OURS = 'AnoPatch-TS (this run)';
const DIFF = 'this run - paper AnoPatch';

function comparisonTable(title: string, devTypes: readonly string[], evalTypes: readonly string[], meanKey: string, paper: PaperSystemRow[], ours: OurFigures, notes: string[]): ResultTable {
  const columns = [...devTypes.map((t) => `dev ${t}`), `dev ${meanKey}`, ...evalTypes.map((t) => `eval ${t}`), `eval ${meanKey}`, `all ${meanKey}`];
  const values = (r: { dev: SplitFigures; eval: SplitFigures; all: number | null }) => [
    ...devTypes.map((t) => r.dev[t] ?? null),
    r.dev[meanKey] ?? null,
    ...evalTypes.map((t) => r.eval[t] ?? null),
    r.eval[meanKey] ?? null,
    r.all !== null && Number.isFinite(r.all) ? r.all : null,
  ];
  const rows: ResultTable['rows'] = paper.map((r) => ({ label: r.system, values: values(r), note: 'paper' }));
  const ourValues = values(ours);
  rows.push({ label: OURS, values: ourValues });
  const anopatch = paper.find((r) => r.system === ANOPATCH);
  if (anopatch) {
    const ref = values(anopatch);
    rows.push({ label: DIFF, values: ourValues.map((v, i) => (v === null || ref[i] === null ? null : v - ref[i]!)) });
  }
  return { title, columns, rows, notes };
}

/** Table 1 (DCASE 2020 Task 2): per type (AUC + pAUC) / 2, arithmetic means. */
export function table1(ours: OurFigures, notes: string[] = []): ResultTable {
  return comparisonTable('Table 1: DCASE 2020 Task 2, (AUC + pAUC) / 2 per machine type [%]', DCASE2020_TYPES, DCASE2020_TYPES, 'mean', paperTable1(), ours, notes);
}

/** Table 2 (DCASE 2023 Task 2): harmonic means of AUC(source), AUC(target), pAUC. */
export function table2(ours: OurFigures, notes: string[] = []): ResultTable {
  return comparisonTable('Table 2: DCASE 2023 Task 2, harmonic mean of AUC(source), AUC(target), pAUC [%]', DCASE2023_DEV_TYPES, DCASE2023_EVAL_TYPES, 'hmean', paperTable2(), ours, notes);
}

export interface BackboneResult {
  /** Registered backbone id (beats, ast, ...). */
  backbone: string;
  /** Paper name, size and domain (from Table 3). */
  paperName: string;
  size: string;
  domain: string;
  ours?: { dev: number; eval: number };
  skipped?: string;
}

/** Table 3: dev / eval means per backbone, ours beside the paper's; skipped backbones keep their row and reason. */
export function table3(results: BackboneResult[], notes: string[] = []): ResultTable {
  const paper = new Map(paperTable3().map((r) => [r.backbone, r]));
  return {
    title: 'Table 3: backbones fine-tuned the same way on DCASE 2020 (mean of (AUC + pAUC) / 2) [%]',
    columns: ['paper dev', 'paper eval', 'ours dev', 'ours eval', 'diff dev', 'diff eval'],
    rows: results.map((r) => {
      const p = paper.get(r.paperName);
      const pd = p?.dev.mean ?? null;
      const pe = p?.eval.mean ?? null;
      const od = r.ours?.dev ?? null;
      const oe = r.ours?.eval ?? null;
      return {
        label: `${r.backbone} (${r.paperName}, ${r.size}, ${r.domain})`,
        values: [pd, pe, od, oe, od !== null && pd !== null ? od - pd : null, oe !== null && pe !== null ? oe - pe : null],
        ...(r.skipped ? { note: `skipped: ${r.skipped}` } : {}),
      };
    }),
    notes,
  };
}

const fmt = (v: number | null) => (v === null ? '–' : v.toFixed(2));

export function toMarkdown(t: ResultTable): string {
  const header = `| system | ${t.columns.join(' | ')} |${t.rows.some((r) => r.note) ? ' note |' : ''}`;
  const sep = `|---|${t.columns.map(() => '---:').join('|')}|${t.rows.some((r) => r.note) ? '---|' : ''}`;
  const body = t.rows.map((r) => `| ${r.label} | ${r.values.map(fmt).join(' | ')} |${t.rows.some((x) => x.note) ? ` ${r.note ?? ''} |` : ''}`);
  return [`### ${t.title}`, '', header, sep, ...body, '', ...t.notes.map((n) => `> ${n}`), ''].join('\n');
}

export function toCsv(t: ResultTable): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [['system', ...t.columns, 'note'].map(q).join(','), ...t.rows.map((r) => [q(r.label), ...r.values.map((v) => (v === null ? '' : v.toFixed(4))), q(r.note ?? '')].join(','))].join('\n') + '\n';
}

/** Plain-text rendering for the terminal. */
export function toText(t: ResultTable): string {
  const labelWidth = Math.max(6, ...t.rows.map((r) => r.label.length));
  const widths = t.columns.map((c) => Math.max(c.length, 6));
  const line = (label: string, cells: string[], note = '') => `${label.padEnd(labelWidth)}  ${cells.map((c, i) => c.padStart(widths[i]!)).join('  ')}${note ? `  ${note}` : ''}`;
  return [t.title, line('system', t.columns), ...t.rows.map((r) => line(r.label, r.values.map(fmt), r.note)), ...t.notes.map((n) => `note: ${n}`)].join('\n');
}
