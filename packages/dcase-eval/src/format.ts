import type { Evaluation2020, Evaluation2023, MetricRow } from './official.js';
import { resultTable, resultTableMarkdown } from './tables.js';

/** Fixed-width text tables for a terminal: per machine, then the official score. Fractions, 4 decimals. */

const f4 = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : v.toFixed(4));

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const rowCells = (r: MetricRow): string[] => [f4(r.auc), f4(r.pauc), f4(r.precision), f4(r.recall), f4(r.f1)];

export function formatEvaluation(ev: Evaluation2020 | Evaluation2023): string {
  const out: string[] = [];
  if (ev.edition === 2020) {
    out.push(
      textTable(
        ['machine', 'id', 'AUC', 'pAUC'],
        ev.units.map((u) => [u.type, u.id, f4(u.auc), f4(u.pauc)]),
      ),
      '',
      textTable(
        ['machine', 'AUC (mean)', 'pAUC (mean)', '(AUC+pAUC)/2'],
        ev.machines.map((m) => [m.type, f4(m.auc), f4(m.pauc), f4(m.score)]),
      ),
      '',
    );
  } else {
    out.push(
      textTable(
        ['machine', 'section', 'AUC (all)', 'AUC (source)', 'AUC (target)', 'pAUC', 'prec (src)', 'prec (tgt)', 'recall (src)', 'recall (tgt)', 'F1 (src)', 'F1 (tgt)'],
        ev.units.map((u) => [
          u.type,
          u.section,
          f4(u.aucAll),
          f4(u.aucSource),
          f4(u.aucTarget),
          f4(u.pauc),
          f4(u.source?.precision),
          f4(u.target?.precision),
          f4(u.source?.recall),
          f4(u.target?.recall),
          f4(u.source?.f1),
          f4(u.target?.f1),
        ]),
      ),
      '',
      textTable(
        ['over all machines, sections, domains', 'AUC', 'pAUC', 'precision', 'recall', 'F1'],
        [
          ['arithmetic mean', ...rowCells(ev.overall.arithmeticMeanAll)],
          ['harmonic mean', ...rowCells(ev.overall.harmonicMeanAll)],
          ['source harmonic mean', ...rowCells(ev.overall.sourceHarmonicMeanAll)],
          ['target harmonic mean', ...rowCells(ev.overall.targetHarmonicMeanAll)],
        ],
      ),
      '',
      `official score (hmean of AUC source, AUC target, pAUC): ${ev.overall.officialScore.toFixed(6)}` +
        (ev.overall.officialScoreCi95 === null ? '' : `  (ci95 ${ev.overall.officialScoreCi95.toFixed(6)}, the evaluator's jackknife)`),
      '',
    );
  }
  out.push(resultTableMarkdown(resultTable(ev.table)));
  for (const w of ev.warnings) out.push(`warning: ${w}`);
  return out.join('\n');
}
