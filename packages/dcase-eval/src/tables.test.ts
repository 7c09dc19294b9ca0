import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadReferenceJson } from '@anopatch/test-fixtures';
import { afterAll, describe, expect, it } from 'vitest';

import { DuplicateFileError, MetricInputError, NonFiniteScoreError, OutputExistsError } from './errors.js';
import type { TruthUnit } from './groundtruth.js';
import { decisionThreshold } from './gamma.js';
import { hmean } from './metrics.js';
import { evaluateSubmission2020, evaluateSubmission2023 } from './official.js';
import { writeResultFiles2023, writeScoreFile2020, writeSectionResults2023 } from './resultfiles.js';
import { buildTable1, buildTable2, resultTable, resultTableCsv, resultTableMarkdown, writeResultTable } from './tables.js';

const tmps: string[] = [];
afterAll(() => tmps.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'dcase-tables-'));
  tmps.push(d);
  return d;
};

interface Agg {
  aggregation: { machine_types: string[]; auc_source: number[]; auc_target: number[]; pauc: number[]; official_score_hmean_all: number };
}

describe('Table 2 (DCASE 2023)', () => {
  it('per-type hmean and the dev hmean from metrics.json aggregation (scipy hmean), to 1e-9', () => {
    const a = loadReferenceJson<Agg>('metrics.json').aggregation;
    const rows = a.machine_types.map((type, i) => ({ type, section: '00', aucSource: a.auc_source[i]!, aucTarget: a.auc_target[i]!, pauc: a.pauc[i]! }));
    const t = buildTable2(rows);
    expect(t.dev.types.map((x) => x.type)).toEqual(['bearing', 'fan', 'gearbox', 'slider', 'ToyCar', 'ToyTrain', 'valve']);
    expect(Math.abs(t.dev.hmean! - a.official_score_hmean_all)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(t.allHmean! - a.official_score_hmean_all)).toBeLessThanOrEqual(1e-9);
    expect(t.eval.hmean).toBeNull();
    const fan = t.dev.types.find((x) => x.type === 'fan')!;
    expect(Math.abs(fan.hmean - hmean([0.878893, 0.510898, 0.536513]))).toBeLessThanOrEqual(1e-15);
    // dev hmean equals the hmean of the per-type figures (every type contributes three values)
    expect(Math.abs(hmean(t.dev.types.map((x) => x.hmean)) - t.dev.hmean!)).toBeLessThanOrEqual(1e-12);
    const r = resultTable(t, 'ours');
    expect(r.columns.slice(-2)).toEqual(['eval hmean', 'all hmean']);
    expect(r.values[r.columns.indexOf('dev hmean')]).toBeCloseTo(a.official_score_hmean_all * 100, 9);
  });
  it('the paper: hmean of dev and eval hmeans reproduces its all figure', () => {
    // Table 2, AnoPatch: dev 64.24, eval 74.23, all 68.87 (equal value counts, so all = hmean(dev, eval))
    expect(hmean([64.24, 74.23]).toFixed(2)).toBe('68.87');
  });
  it('unknown machine types need an explicit split', () => {
    expect(() => buildTable2([{ type: 'drill', section: '00', aucSource: 0.5, aucTarget: 0.5, pauc: 0.5 }])).toThrow(MetricInputError);
    expect(buildTable2([{ type: 'drill', section: '00', aucSource: 0.5, aucTarget: 0.5, pauc: 0.5, split: 'dev' }]).dev.hmean).toBe(0.5);
  });
});

describe('Table 1 (DCASE 2020)', () => {
  it('per type mean over IDs, figure = (AUC + pAUC) / 2, split by ID', () => {
    const t = buildTable1([
      { type: 'fan', id: '00', auc: 0.8, pauc: 0.6 },
      { type: 'fan', id: '02', auc: 0.9, pauc: 0.7 },
      { type: 'fan', id: '01', auc: 1.0, pauc: 0.9 },
      { type: 'ToyCar', id: '01', auc: 0.7, pauc: 0.5 },
      { type: 'ToyCar', id: '05', auc: 0.6, pauc: 0.6 },
    ]);
    expect(t.dev.types.map((x) => [x.type, x.ids])).toEqual([
      ['fan', ['00', '02']],
      ['ToyCar', ['01']],
    ]);
    expect(t.dev.types[0]!.score).toBeCloseTo(0.75, 15);
    expect(t.dev.mean).toBeCloseTo((0.75 + 0.6) / 2, 15);
    expect(t.eval.mean).toBeCloseTo((0.95 + 0.6) / 2, 15);
    expect(t.allMean).toBeCloseTo((0.75 + 0.6 + 0.95 + 0.6) / 4, 15);
    const r = resultTable(t, 'ours');
    expect(r.columns).toEqual(['dev fan', 'dev ToyCar', 'dev mean', 'eval fan', 'eval ToyCar', 'eval mean', 'all mean']);
    expect(resultTableMarkdown(r)).toContain('| ours | 75.00 | 60.00 | 67.50 | 95.00 | 60.00 | 77.50 | 72.50 |');
    expect(resultTableCsv(r).split('\n')[0]).toBe('method,dev fan,dev ToyCar,dev mean,eval fan,eval ToyCar,eval mean,all mean');
  });
  it('writes json / csv / md atomically and refuses to overwrite', () => {
    const d = tmp();
    const t = buildTable1([{ type: 'valve', id: '00', auc: 0.9, pauc: 0.8 }]);
    const paths = writeResultTable(join(d, 'result'), t);
    expect(paths.every((p) => existsSync(p))).toBe(true);
    expect((JSON.parse(readFileSync(paths[0]!, 'utf8')) as { table: { dev: { mean: number } } }).table.dev.mean).toBeCloseTo(0.85, 15);
    expect(() => writeResultTable(join(d, 'result'), t)).toThrow(OutputExistsError);
    writeResultTable(join(d, 'result'), t, { overwrite: true });
  });
});

describe('official result files', () => {
  const unit = (type: string, group: string, n: number, domain: boolean): TruthUnit => ({
    type,
    group,
    aliases: new Map(),
    clips: Array.from({ length: n }, (_, i) => ({
      file: domain ? `section_${group}_${String(n - 1 - i).padStart(4, '0')}.wav` : `id_${group}_${String(n - 1 - i).padStart(8, '0')}.wav`,
      label: (i % 3 === 0 ? 1 : 0),
      domain: domain ? (i % 2 ? 'target' : 'source') : null,
    })),
  });
  it('2023: sorted rows, decisions strictly above the threshold, read back identically', () => {
    const d = tmp();
    const u = unit('ToyTank', '00', 12, true);
    const scores = u.clips.map((c, i) => ({ file: c.file, score: i === 4 ? 0.5 : 0.1 * i + 0.05 * c.label }));
    const { scoreFile, decisionFile } = writeResultFiles2023(d, 'ToyTank', '00', scores, 0.5);
    const rows = readFileSync(scoreFile, 'utf8').trim().split('\n');
    expect(rows[0]).toBe(`section_00_0000.wav,${String(0.1 * 11)}`);
    expect([...rows].sort()).toEqual(rows);
    const dec = readFileSync(decisionFile, 'utf8');
    expect(dec).toContain(`${u.clips[4]!.file},0\n`);
    const ev = evaluateSubmission2023(d, { edition: 2023, source: 'test', units: [u] });
    const back = ev.units[0]!;
    expect(back.clips).toBe(12);
    expect(() => writeResultFiles2023(d, 'ToyTank', '00', scores, 0.5)).toThrow(OutputExistsError);
    expect(() => writeResultFiles2023(d, 'ToyTank', '00', [...scores, scores[0]!], 0.5, { overwrite: true })).toThrow(DuplicateFileError);
    expect(() => writeResultFiles2023(d, 'ToyTank', '00', [{ file: 'a.wav', score: Number.NaN }], 0.5, { overwrite: true })).toThrow(NonFiniteScoreError);
  });
  it('2023 section results: gamma threshold from training scores decides the test clips', () => {
    const d = tmp();
    const train = Array.from({ length: 50 }, (_, i) => 0.05 + 0.002 * i + 0.0001 * (i % 7) ** 2);
    const test = Array.from({ length: 10 }, (_, i) => ({ file: `section_00_${String(i).padStart(4, '0')}.wav`, score: 0.06 + 0.02 * i }));
    const r = writeSectionResults2023(d, 'fan', '00', test, train);
    expect(r.threshold).toBe(decisionThreshold(train, 0.9));
    const dec = readFileSync(r.decisionFile, 'utf8').trim().split('\n');
    test.forEach((c, i) => expect(dec[i]).toBe(`${c.file},${c.score > r.threshold ? 1 : 0}`));
    expect(dec.some((l) => l.endsWith(',1')) && dec.some((l) => l.endsWith(',0'))).toBe(true);
  });
  it('2020: anomaly_score_<type>_id_<NN>.csv', () => {
    const d = tmp();
    const u = unit('pump', '03', 9, false);
    const p = writeScoreFile2020(
      d,
      'pump',
      '03',
      u.clips.map((c, i) => ({ file: c.file, score: i * 1e-7 })),
    );
    expect(p.endsWith('anomaly_score_pump_id_03.csv')).toBe(true);
    expect(readFileSync(p, 'utf8').split('\n')[1]).toBe('id_03_00000001.wav,7e-07');
    const ev = evaluateSubmission2020(d, { edition: 2020, source: 'test', units: [u] });
    expect(ev.units[0]!.auc).toBeGreaterThanOrEqual(0);
  });
});
