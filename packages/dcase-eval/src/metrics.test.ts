import { loadReferenceJson } from '@anopatch/test-fixtures';
import { describe, expect, it } from 'vitest';

import { MetricInputError, NonFiniteScoreError, SingleClassError } from './errors.js';
import { auc, aucOfCurve, hmean, hmeanFloored, mean, npSum, pauc, paucOfCurve, paucRaw, rocCurve, rocCurveSorted } from './metrics.js';

interface Case {
  name: string;
  labels: number[];
  scores: number[];
  auc: number;
  'pauc_mcclish_max_fpr_0.1': number;
  'pauc_raw_0.1': number;
  roc_curve: { fpr: number[]; tpr: number[]; thresholds: number[] };
}
interface MetricsJson {
  cases: Case[];
  aggregation: {
    auc_source: number[];
    auc_target: number[];
    pauc: number[];
    arith_mean: Record<'auc_source' | 'auc_target' | 'pauc', number>;
    hmean: Record<'auc_source' | 'auc_target' | 'pauc', number>;
    official_score_hmean_all: number;
  };
}

const ref = loadReferenceJson<MetricsJson>('metrics.json');
// metrics.json is sklearn 1.2.1 / scipy 1.10.1 in float64; DESIGN.md: metrics exact to 1e-9
const TOL = 1e-9;

describe('ROC metrics against sklearn (metrics.json)', () => {
  for (const c of ref.cases) {
    it(`${c.name}: auc, McClish pAUC, raw pAUC, roc_curve`, () => {
      expect(Math.abs(auc(c.labels, c.scores) - c.auc)).toBeLessThanOrEqual(TOL);
      expect(Math.abs(pauc(c.labels, c.scores, 0.1) - c['pauc_mcclish_max_fpr_0.1'])).toBeLessThanOrEqual(TOL);
      expect(Math.abs(paucRaw(c.labels, c.scores, 0.1) - c['pauc_raw_0.1'])).toBeLessThanOrEqual(TOL);
      const roc = rocCurve(c.labels, c.scores);
      expect(roc.fpr).toHaveLength(c.roc_curve.fpr.length);
      roc.fpr.forEach((v, i) => expect(Math.abs(v - c.roc_curve.fpr[i]!)).toBeLessThanOrEqual(TOL));
      roc.tpr.forEach((v, i) => expect(Math.abs(v - c.roc_curve.tpr[i]!)).toBeLessThanOrEqual(TOL));
      roc.thresholds.forEach((v, i) => expect(Math.abs(v - c.roc_curve.thresholds[i]!)).toBeLessThanOrEqual(TOL));
    });
  }

  it('McClish and raw pAUC are related as the fixture states', () => {
    for (const c of ref.cases) {
      const raw = paucRaw(c.labels, c.scores);
      expect(Math.abs(pauc(c.labels, c.scores) - 0.5 * (1 + (raw * 0.1 - 0.005) / (0.1 - 0.005)))).toBeLessThanOrEqual(1e-12);
    }
  });

  it('max_fpr = 1 gives the full AUC', () => {
    const c = ref.cases[0]!;
    expect(Math.abs(pauc(c.labels, c.scores, 1) - c.auc)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(paucRaw(c.labels, c.scores, 1) - c.auc)).toBeLessThanOrEqual(TOL);
  });

  it('aggregation: arithmetic means, hmean per metric and the official 2023 score', () => {
    const a = ref.aggregation;
    for (const k of ['auc_source', 'auc_target', 'pauc'] as const) {
      expect(Math.abs(mean(a[k]) - a.arith_mean[k])).toBeLessThanOrEqual(TOL);
      expect(Math.abs(hmean(a[k]) - a.hmean[k])).toBeLessThanOrEqual(TOL);
    }
    const all = [...a.auc_source, ...a.auc_target, ...a.pauc];
    expect(Math.abs(hmeanFloored(all) - a.official_score_hmean_all)).toBeLessThanOrEqual(TOL);
  });

  it('hmean floors at machine epsilon only in hmeanFloored', () => {
    expect(hmean([0, 1])).toBe(0);
    expect(hmeanFloored([0, 1])).toBeCloseTo(2 * Number.EPSILON, 20);
    expect(() => hmean([-0.1, 1])).toThrow(MetricInputError);
  });

  it('npSum reproduces pairwise summation exactly on integers and agrees with naive sums', () => {
    const xs = Array.from({ length: 300 }, (_, i) => i + 1);
    expect(npSum(xs)).toBe(45150);
    const ys = Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e-3);
    const naive = ys.reduce((s, v) => s + v, 0);
    expect(Math.abs(npSum(ys) - naive)).toBeLessThan(1e-15);
  });

  it('rocCurveSorted gives the same curve for presorted input and refuses unsorted input', () => {
    const c = ref.cases.find((x) => x.name === 'ties')!;
    const order = c.scores.map((_, i) => i).sort((a, b) => c.scores[b]! - c.scores[a]!);
    const curve = rocCurveSorted(
      order.map((i) => c.labels[i]!),
      order.map((i) => c.scores[i]!),
    );
    expect(Math.abs(aucOfCurve(curve) - c.auc)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(paucOfCurve(curve, 0.1) - c['pauc_mcclish_max_fpr_0.1'])).toBeLessThanOrEqual(TOL);
    expect(() => rocCurveSorted([0, 1], [0.1, 0.2])).toThrow(/not in descending order/);
  });

  it('rejects one-class labels, NaN scores, bad labels and length mismatches', () => {
    expect(() => auc([0, 0, 0], [0.1, 0.2, 0.3])).toThrow(SingleClassError);
    expect(() => pauc([1, 1], [0.1, 0.2])).toThrow(/only anomalous/);
    expect(() => auc([0, 1], [0.1, Number.NaN])).toThrow(NonFiniteScoreError);
    expect(() => auc([0, 2], [0.1, 0.2])).toThrow(MetricInputError);
    expect(() => auc([0, 1], [0.1])).toThrow(MetricInputError);
    expect(() => pauc([0, 1], [0.1, 0.2], 0)).toThrow(MetricInputError);
  });
});
