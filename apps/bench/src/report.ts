import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { Table1, Table2 } from '@anopatch/dcase-eval';

import { ANOPATCH, paperTable1, paperTable2, type PaperSystemRow } from './paper/index.js';
import type { ProtocolResult, RocByType } from './protocol/run.js';
import { toCsv, toMarkdown, type OurFigures, type ResultTable } from './tables.js';

/** Our figures in the paper's shape (percent): per type (AUC + pAUC) / 2 [2020] or hmean [2023], plus the split means. */
export function ourFigures(table: Table1 | Table2): OurFigures {
  const pct = (v: number | null) => (v === null ? Number.NaN : 100 * v);
  if (table.edition === 2020) {
    const half = (h: Table1['dev']) => ({ ...Object.fromEntries(h.types.map((t) => [t.type, pct(t.score)])), mean: pct(h.mean) });
    return { dev: half(table.dev), eval: half(table.eval), all: pct(table.allMean) };
  }
  const half = (h: Table2['dev']) => ({ ...Object.fromEntries(h.types.map((t) => [t.type, pct(t.hmean)])), hmean: pct(h.hmean) });
  return { dev: half(table.dev), eval: half(table.eval), all: pct(table.allHmean) };
}

export interface Chart {
  file: string;
  png: Uint8Array;
}

/** Ours vs the paper's AnoPatch row, per machine type, one bar chart per split. */
export async function oursVsPaperCharts(table: Table1 | Table2): Promise<Chart[]> {
  const { barChartPng } = await import('@anopatch/dcase-eval');
  const ours = ourFigures(table);
  const paper: PaperSystemRow | undefined = (table.edition === 2020 ? paperTable1() : paperTable2()).find((r) => r.system === ANOPATCH);
  const meanKey = table.edition === 2020 ? 'mean' : 'hmean';
  const charts: Chart[] = [];
  for (const split of ['dev', 'eval'] as const) {
    const types = Object.keys(ours[split]).filter((k) => k !== meanKey && Number.isFinite(ours[split][k]));
    if (types.length === 0) continue;
    const cats = [...types, meanKey];
    charts.push({
      file: `ours_vs_paper_${split}.png`,
      png: barChartPng({
        title: `DCASE ${table.edition} ${split}: this run vs paper AnoPatch [%]`,
        categories: cats,
        series: [
          { name: 'this run', values: cats.map((c) => ours[split][c] ?? Number.NaN) },
          { name: 'paper AnoPatch', values: cats.map((c) => paper?.[split][c] ?? Number.NaN) },
        ],
        yLabel: '%',
      }),
    });
  }
  return charts;
}

/** ROC curves, one line per machine type, one chart per split. */
export async function rocCharts(splits: readonly { split: string; roc: RocByType }[], prefix = 'roc'): Promise<Chart[]> {
  const { lineChartPng } = await import('@anopatch/dcase-eval');
  return splits
    .filter((s) => Object.keys(s.roc).length > 0)
    .map((s) => ({
      file: `${prefix}_${s.split}.png`,
      png: lineChartPng({
        title: `ROC per machine type (${s.split})`,
        series: Object.entries(s.roc).map(([type, c]) => ({ name: type, points: c.fpr.map((x, i) => [x, c.tpr[i]!] as const) })),
        xLabel: 'FPR',
        yLabel: 'TPR',
        diagonal: true,
      }),
    }));
}

/** What results.json records of one protocol run (the table numbers are recomputable from scoreDirs). */
export function runSummary(r: ProtocolResult): Record<string, unknown> {
  return {
    backbone: r.backbone,
    description: r.description,
    embedding: r.embedding,
    hash: r.hash,
    dir: r.dir,
    stages: r.stages,
    trainSteps: r.trainSteps,
    scoreDirs: r.scoreDirs,
    table: r.table,
  };
}

/** results.md, results.csv, results.json and the charts, each written atomically; returns the paths. */
export async function writeResults(out: string, table: ResultTable, json: Record<string, unknown>, charts: readonly Chart[], extraMarkdown: string[] = []): Promise<string[]> {
  const { writeFileAtomic } = await import('@anopatch/dcase-eval');
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  const put = (name: string, data: string | Uint8Array) => {
    const p = join(out, name);
    writeFileAtomic(p, data, { overwrite: true });
    files.push(p);
  };
  for (const c of charts) put(c.file, c.png);
  const md = [toMarkdown(table), ...extraMarkdown, charts.length > 0 ? charts.map((c) => `![${c.file}](${c.file})`).join('\n') + '\n' : ''].join('\n');
  put('results.md', md);
  put('results.csv', toCsv(table));
  // json last: its presence marks a complete set of result files
  put('results.json', JSON.stringify({ ...json, rows: table.rows, columns: table.columns, notes: table.notes, charts: charts.map((c) => c.file) }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1) + '\n');
  return files;
}
