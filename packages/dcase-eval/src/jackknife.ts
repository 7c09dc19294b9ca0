import { gammaln } from './gamma.js';
import { MetricInputError } from './errors.js';
import { aucOfCurve, mean, npSum, paucOfCurve, rocCurveSorted } from './metrics.js';

/** Regularised incomplete beta I_x(a, b) (continued fraction, modified Lentz). */
export function betainc(a: number, b: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(gammaln(a + b) - gammaln(a) - gammaln(b) + a * Math.log(x) + b * Math.log1p(-x));
  // the fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise
  if (x > (a + 1) / (a + b + 2)) return 1 - betainc(b, a, 1 - x);
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 10_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return (front * h) / a;
}

/** Student t CDF. */
export function tCdf(t: number, dof: number): number {
  const tail = 0.5 * betainc(dof / 2, 0.5, dof / (dof + t * t));
  return t >= 0 ? 1 - tail : tail;
}

/** Student t quantile (scipy.stats.t.ppf) by bisection on the CDF, to ~1e-14. */
export function tPpf(q: number, dof: number): number {
  if (!(q > 0 && q < 1)) throw new MetricInputError(`t quantile needs 0 < q < 1, got ${q}`);
  if (q === 0.5) return 0;
  if (q < 0.5) return -tPpf(1 - q, dof);
  let lo = 0;
  let hi = 1;
  while (tCdf(hi, dof) < q) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, dof) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The jackknife of dcase2023_task2_evaluator's `jackknife_estimate` (after Mesaros et al., TASLP
 * 2019), as coded there: sigma = sqrt(sum (theta_i - mean theta_i)^2 / (N (N - 1))) and
 * ci95 = |t.ppf(0.025, N - 1)| * sigma. Returns [theta_jack, ci95].
 *
 * The estimate does not depend on the order of the clips, so they are sorted once by descending
 * score and `fn` always receives them in that order (leave-one-out subsets stay sorted), which lets
 * ROC metrics skip their sort: N leave-one-out ROCs cost O(N^2) instead of O(N^2 log N).
 */
export function jackknife(fn: (sortedLabels: number[], sortedScores: number[]) => number, labels: readonly number[], scores: readonly number[]): [number, number] {
  const n0 = labels.length;
  if (n0 < 3) throw new MetricInputError(`jackknife needs at least 3 clips, got ${n0}`);
  const order = Array.from({ length: n0 }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return jackknifeSorted(
    fn,
    order.map((i) => labels[i]!),
    order.map((i) => scores[i]!),
  );
}

function jackknifeSorted(fn: (labels: number[], scores: number[]) => number, labels: number[], scores: number[]): [number, number] {
  const n = labels.length;
  const theta = fn([...labels], [...scores]);
  const thetas = new Float64Array(n);
  const l = labels.slice(1);
  const s = scores.slice(1);
  for (let i = 0; i < n; i++) {
    // leave clip i out: positions 0..n-2 hold every clip but i
    if (i > 0) {
      l[i - 1] = labels[i - 1]!;
      s[i - 1] = scores[i - 1]!;
    }
    thetas[i] = fn(l, s);
  }
  const thetaMean = mean(thetas);
  const jack = mean(thetas.map((t) => n * theta - (n - 1) * t));
  const sigma = Math.sqrt(npSum(thetas.map((t) => (t - thetaMean) ** 2)) / (n * (n - 1)));
  return [jack, Math.abs(tPpf(0.025, n - 1)) * sigma];
}

/** The evaluator's "official score ci95": mean of the AUC and pAUC jackknife ci95 over all clips pooled. */
export function officialScoreCi95(labels: readonly number[], scores: readonly number[], maxFpr = 0.1): number {
  const [, aucCi] = jackknife((l, s) => aucOfCurve(rocCurveSorted(l, s, true, 'jackknife AUC')), labels, scores);
  const [, paucCi] = jackknife((l, s) => paucOfCurve(rocCurveSorted(l, s, true, 'jackknife pAUC'), maxFpr), labels, scores);
  return mean([aucCi, paucCi]);
}
