import { describe, expect, it } from 'vitest';

import { MetricInputError } from './errors.js';
import { betainc, jackknife, officialScoreCi95, tPpf } from './jackknife.js';
import { auc } from './metrics.js';

describe('jackknife of dcase2023_task2_evaluator', () => {
  it('t quantiles and the incomplete beta match scipy 1.10', () => {
    const ref: [number, number][] = [
      [2, -4.3026527299112765],
      [10, -2.2281388519649385],
      [119, -1.9800998764260065],
      [1399, -1.9616611182414614],
    ];
    // scipy's own stdtrit is ~1.6e-10 off at dof = 2 (exact: (2p - 1) / sqrt(2p(1 - p)) = -4.30265272974946385);
    // tolerance 5e-10, and the closed form to 1e-13
    for (const [dof, q] of ref) expect(Math.abs(tPpf(0.025, dof) - q)).toBeLessThan(5e-10);
    expect(Math.abs(tPpf(0.025, 2) + 4.302652729749464)).toBeLessThan(1e-13);
    expect(Math.abs(tPpf(0.025, 1399) + 1.9616611182414614)).toBeLessThan(1e-12);
    expect(Math.abs(betainc(2.5, 0.5, 0.3) - 0.01892712407194565)).toBeLessThan(1e-14);
    expect(Math.abs(betainc(700, 0.5, 0.999) - 0.23669002875333012)).toBeLessThan(1e-12);
    expect(() => tPpf(1, 3)).toThrow(MetricInputError);
  });
  it('leave-one-out estimates follow the evaluator formula', () => {
    const labels = [0, 1, 0, 1, 0, 0, 1, 0];
    const scores = [0.1, 0.9, 0.3, 0.4, 0.35, 0.2, 0.8, 0.5];
    const [jack, ci] = jackknife((l, s) => auc(l, s), labels, scores);
    const n = labels.length;
    const loo = labels.map((_, i) =>
      auc(
        labels.filter((__, j) => j !== i),
        scores.filter((__, j) => j !== i),
      ),
    );
    const m = loo.reduce((a, b) => a + b, 0) / n;
    const full = auc(labels, scores);
    expect(jack).toBeCloseTo(loo.reduce((a, t) => a + n * full - (n - 1) * t, 0) / n, 12);
    const sigma = Math.sqrt(loo.reduce((a, t) => a + (t - m) ** 2, 0) / (n * (n - 1)));
    expect(ci).toBeCloseTo(Math.abs(tPpf(0.025, n - 1)) * sigma, 12);
    expect(officialScoreCi95(labels, scores)).toBeGreaterThan(0);
  });
});
