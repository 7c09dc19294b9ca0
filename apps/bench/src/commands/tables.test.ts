import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildTable1, evaluateScores, type Evaluation2020 } from '@anopatch/dcase-eval';
import { referencePath } from '@anopatch/test-fixtures';
import { afterAll, describe, expect, it } from 'vitest';

import type { ProgressPrinter } from '../progress.js';
import { ourFigures } from '../report.js';

import { runTable } from './tables.js';

const quiet: ProgressPrinter = { log: () => undefined, onProgress: () => undefined };
const out = mkdtempSync(join(tmpdir(), 'anopatch-bench-t1-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface ResultsJson {
  synthetic: boolean;
  comparableWithPaper: boolean;
  ours: { dev: Record<string, number>; eval: Record<string, number>; all: number };
  runs: { scoreDirs: Record<string, string>; stages: Record<string, string>; description: string }[];
  rows: { label: string; values: (number | null)[] }[];
}

describe('anopatch-bench table1 --synthetic --size tiny', () => {
  it('writes the result files, and results.json holds what dcase-eval computes from the written score CSVs', async () => {
    const r = await runTable({ table: 'table1', synthetic: true, size: 'tiny', out, progress: quiet });
    for (const f of ['results.md', 'results.csv', 'results.json', 'ours_vs_paper_dev.png', 'ours_vs_paper_eval.png', 'roc_dev.png', 'roc_eval.png']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readFileSync(join(out, 'roc_dev.png')).subarray(1, 4).toString()).toBe('PNG');
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ResultsJson;
    expect(json.synthetic).toBe(true);
    expect(json.comparableWithPaper).toBe(false);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain('NOT comparable with the paper');
    const run = json.runs[0]!;
    expect(Object.values(run.stages)).toEqual(['computed', 'computed', 'computed', 'computed']);

    // recompute from the official-format score CSVs the score stage wrote
    const data = join(out, 'data', 'dcase2020-tiny');
    const dev = evaluateScores({ edition: 2020, scores: run.scoreDirs.dev!, data: { root: data, split: 'dev' } }) as Evaluation2020;
    const ev = evaluateScores({ edition: 2020, scores: run.scoreDirs.eval!, groundTruth: join(data, 'ground_truth') }) as Evaluation2020;
    const table = buildTable1([
      ...dev.units.map((u) => ({ type: u.type, id: u.id, auc: u.auc, pauc: u.pauc, split: 'dev' as const })),
      ...ev.units.map((u) => ({ type: u.type, id: u.id, auc: u.auc, pauc: u.pauc, split: 'eval' as const })),
    ]);
    expect(dev.units.map((u) => `${u.type}/${u.id}`)).toEqual(['fan/00', 'fan/02', 'valve/00', 'valve/02']);
    expect(ev.units.map((u) => `${u.type}/${u.id}`)).toEqual(['fan/01', 'fan/03', 'valve/01', 'valve/03']);
    const expected = ourFigures(table);
    for (const split of ['dev', 'eval'] as const) {
      expect(Object.keys(json.ours[split]).sort()).toEqual(['fan', 'mean', 'valve']);
      for (const [k, v] of Object.entries(expected[split])) expect(json.ours[split][k], `${split} ${k}`).toBeCloseTo(v, 9);
    }
    expect(json.ours.all).toBeCloseTo(expected.all, 9);
    // the comparison row is ours minus the paper's AnoPatch figure (Table 1: dev fan 86.46)
    const diff = json.rows.find((x) => x.label === 'this run - paper AnoPatch')!;
    expect(diff.values[0]).toBeCloseTo(expected.dev.fan! - 86.46, 9);
    expect(r.table.rows.map((x) => x.label)).toContain('AnoPatch (Ours)');

    // a rerun finds every stage done and gives the same figures
    const again = await runTable({ table: 'table1', synthetic: true, size: 'tiny', out, progress: quiet });
    const runs = again.json.runs as ResultsJson['runs'];
    expect(Object.values(runs[0]!.stages)).toEqual(['cached', 'cached', 'cached', 'cached']);
    expect(again.json.ours).toEqual(r.json.ours);
  }, 120_000);

  it('takes the real-data path (--data, --weights) on a set laid out like DCASE 2020', async () => {
    const real = join(out, 'real');
    const r = await runTable({
      table: 'table1',
      out: real,
      data: join(out, 'data', 'dcase2020-tiny'),
      weights: referencePath('tiny_beats.pt'),
      steps: 2,
      batchSize: 4,
      gradAccum: 1,
      cropFrames: 96,
      progress: quiet,
    });
    const json = JSON.parse(readFileSync(join(real, 'results.json'), 'utf8')) as ResultsJson & { trainConfig: Record<string, unknown> };
    expect(json.synthetic).toBe(false);
    expect(json.runs[0]!.description).toContain('tiny_beats.pt');
    // Table 4 except the lowered step count (warmup keeps the paper's 9.6 %), batch and crop
    expect(json.trainConfig).toMatchObject({ lr: 1e-4, totalSteps: 2, warmupSteps: 0, batchSize: 4, specAugment: { freqMaskParam: 40, timeMaskParam: 80 } });
    expect(Number.isFinite(json.ours.dev.mean)).toBe(true);
    expect(Number.isFinite(json.ours.eval.mean)).toBe(true);
    expect(r.files.map((f) => f.slice(real.length + 1))).toContain('results.csv');
  }, 120_000);
});
