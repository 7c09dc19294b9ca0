import { GammaFitError } from './errors.js';
import { npSum } from './metrics.js';

/**
 * The decision threshold of the DCASE baselines: fit a gamma distribution to the anomaly scores of
 * the training clips with scipy.stats.gamma.fit(y) (maximum likelihood with free shape, loc and
 * scale) and take scipy.stats.gamma.ppf(0.9, ...). A test clip is anomalous when its score is
 * strictly greater than the threshold (nttcslab/dcase2023_task2_baseline_ae, networks/base_model.py
 * and dcase2023t2_ae.py).
 *
 * scipy 1.10 does that fit with its generic rv_continuous.fit: a moment-based start
 * (shape = 4 / (1e-8 + skew^2), loc/scale from mean and variance), then optimize.fmin (Nelder-Mead,
 * xtol = ftol = 1e-4, 600 evaluations) on the penalised negative log-likelihood. This module
 * re-implements exactly that procedure (same start, same simplex moves, same penalty), so the fitted
 * parameters follow scipy's path instead of a different optimum of a likelihood that is often flat in loc.
 */

export interface GammaParams {
  shape: number;
  loc: number;
  scale: number;
}

const LOG_XMAX = Math.log(Number.MAX_VALUE);
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** log Gamma(x) for x > 0: recurrence up to x >= 15, then the Stirling series to x^-15 (< 1e-16 rel). */
export function gammaln(x: number): number {
  if (!(x > 0)) return Number.NaN;
  let shift = 0;
  let z = x;
  if (z < 15) {
    let prod = 1;
    while (z < 15) {
      prod *= z;
      z += 1;
      if (prod > 1e280) {
        shift += Math.log(prod);
        prod = 1;
      }
    }
    shift += Math.log(prod);
  }
  const z2 = 1 / (z * z);
  const series =
    (1 / z) *
    (1 / 12 +
      z2 * (-1 / 360 + z2 * (1 / 1260 + z2 * (-1 / 1680 + z2 * (1 / 1188 + z2 * (-691 / 360360 + z2 * (1 / 156 + z2 * (-3617 / 122400))))))));
  return (z - 0.5) * Math.log(z) - z + HALF_LOG_2PI + series - shift;
}

/** Regularised lower incomplete gamma P(a, x). */
export function gammainc(a: number, x: number): number {
  if (x <= 0) return 0;
  if (!Number.isFinite(x)) return 1;
  const logPrefix = a * Math.log(x) - x - gammaln(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1_000_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    return Math.min(1, sum * Math.exp(logPrefix));
  }
  // continued fraction for Q(a, x), modified Lentz
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1_000_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-17) break;
  }
  return Math.max(0, 1 - Math.exp(logPrefix) * h);
}

/** Standard normal quantile (Acklam's rational approximation, ~1e-9), only used as a starting point. */
function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - pl) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** x with P(a, x) = q (scipy.special.gammaincinv), safeguarded Newton on a bracket. */
export function gammaincinv(a: number, q: number): number {
  if (q <= 0) return 0;
  if (q >= 1) return Number.POSITIVE_INFINITY;
  const z = normalQuantile(q);
  let x = a * (1 - 1 / (9 * a) + z / (3 * Math.sqrt(a))) ** 3;
  if (!(x > 0) || !Number.isFinite(x)) x = a > 1 ? a : Math.max(1e-300, q ** (1 / a));
  let lo = 0;
  let hi = Number.POSITIVE_INFINITY;
  const lg = gammaln(a);
  for (let i = 0; i < 200; i++) {
    const f = gammainc(a, x) - q;
    if (f === 0) return x;
    if (f < 0) lo = x;
    else hi = x;
    const pdf = Math.exp((a - 1) * Math.log(x) - x - lg);
    let next = x - f / pdf;
    if (!(next > lo && next < hi) || !Number.isFinite(next)) next = Number.isFinite(hi) ? (lo + hi) / 2 : Math.max(2 * x, lo * 2 + 1);
    if (Math.abs(next - x) <= 1e-15 * Math.abs(x)) return next;
    x = next;
  }
  return x;
}

/** scipy.stats.gamma.ppf(q, a, loc, scale). */
export function gammaPpf(q: number, p: GammaParams): number {
  return gammaincinv(p.shape, q) * p.scale + p.loc;
}

/** scipy.stats.gamma.cdf(x, a, loc, scale). */
export function gammaCdf(x: number, p: GammaParams): number {
  return gammainc(p.shape, (x - p.loc) / p.scale);
}

/** rv_continuous._penalized_nnlf for the gamma distribution. */
function penalizedNnlf(theta: readonly number[], data: Float64Array): number {
  const [a, loc, scale] = theta as [number, number, number];
  if (!(a > 0) || scale <= 0) return Number.POSITIVE_INFINITY;
  const lg = gammaln(a);
  const logff: number[] = [];
  let nBad = 0;
  for (let i = 0; i < data.length; i++) {
    const x = (data[i]! - loc) / scale;
    if (!(x > 0 && x < Number.POSITIVE_INFINITY)) {
      nBad++;
      continue;
    }
    const v = (a - 1 === 0 ? 0 : (a - 1) * Math.log(x)) - x - lg;
    if (Number.isFinite(v)) logff.push(v);
    else nBad++;
  }
  const nLogScale = data.length * Math.log(scale);
  const sum = npSum(logff);
  if (nBad > 0) return -sum + nBad * LOG_XMAX * 100 + nLogScale;
  return -sum + nLogScale;
}

class MaxFunCalls extends Error {}

/** scipy.optimize.fmin (Nelder-Mead, non-adaptive) with xtol = ftol = 1e-4 and scipy's default budgets. */
function fmin(f: (x: number[]) => number, x0: number[]): number[] {
  const N = x0.length;
  const maxfun = 200 * N;
  const maxiter = 200 * N;
  const [rho, chi, psi, sigma] = [1, 2, 0.5, 0.5];
  let calls = 0;
  const func = (x: number[]): number => {
    if (calls >= maxfun) throw new MaxFunCalls();
    calls++;
    return f(x);
  };
  let sim: number[][] = [x0.slice()];
  for (let k = 0; k < N; k++) {
    const y = x0.slice();
    y[k] = y[k] !== 0 ? (1 + 0.05) * y[k]! : 0.00025;
    sim.push(y);
  }
  let fsim: number[] = sim.map(() => Number.POSITIVE_INFINITY);
  const sortSimplex = (): void => {
    // np.argsort on N + 1 <= 16 values is an insertion sort, hence stable
    const idx = fsim.map((_, i) => i).sort((i, j) => fsim[i]! - fsim[j]! || i - j);
    sim = idx.map((i) => sim[i]!);
    fsim = idx.map((i) => fsim[i]!);
  };
  try {
    for (let k = 0; k <= N; k++) fsim[k] = func(sim[k]!);
  } catch (e) {
    if (!(e instanceof MaxFunCalls)) throw e;
  }
  sortSimplex();
  let iterations = 1;
  const comb = (ca: number, a: number[], cb: number, b: number[]): number[] => a.map((v, i) => ca * v + cb * b[i]!);
  while (calls < maxfun && iterations < maxiter) {
    try {
      let maxDx = 0;
      let maxDf = 0;
      for (let j = 1; j <= N; j++) {
        for (let i = 0; i < N; i++) maxDx = Math.max(maxDx, Math.abs(sim[j]![i]! - sim[0]![i]!));
        maxDf = Math.max(maxDf, Math.abs(fsim[0]! - fsim[j]!));
      }
      if (maxDx <= 1e-4 && maxDf <= 1e-4) break;
      const xbar = new Array<number>(N).fill(0);
      for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) xbar[i]! += sim[j]![i]!;
      for (let i = 0; i < N; i++) xbar[i]! /= N;
      const worst = sim[N]!;
      const xr = comb(1 + rho, xbar, -rho, worst);
      const fxr = func(xr);
      let doshrink = false;
      if (fxr < fsim[0]!) {
        const xe = comb(1 + rho * chi, xbar, -rho * chi, worst);
        const fxe = func(xe);
        if (fxe < fxr) {
          sim[N] = xe;
          fsim[N] = fxe;
        } else {
          sim[N] = xr;
          fsim[N] = fxr;
        }
      } else if (fxr < fsim[N - 1]!) {
        sim[N] = xr;
        fsim[N] = fxr;
      } else {
        if (fxr < fsim[N]!) {
          const xc = comb(1 + psi * rho, xbar, -psi * rho, worst);
          const fxc = func(xc);
          if (fxc <= fxr) {
            sim[N] = xc;
            fsim[N] = fxc;
          } else doshrink = true;
        } else {
          const xcc = comb(1 - psi, xbar, psi, worst);
          const fxcc = func(xcc);
          if (fxcc < fsim[N]!) {
            sim[N] = xcc;
            fsim[N] = fxcc;
          } else doshrink = true;
        }
        if (doshrink) {
          for (let j = 1; j <= N; j++) {
            sim[j] = sim[0]!.map((v, i) => v + sigma * (sim[j]![i]! - v));
            fsim[j] = func(sim[j]!);
          }
        }
      }
      iterations++;
    } catch (e) {
      if (!(e instanceof MaxFunCalls)) throw e;
    } finally {
      sortSimplex();
    }
  }
  return sim[0]!;
}

/** scipy.stats.gamma.fit(data) (scipy 1.10, MLE, nothing fixed). */
export function fitGamma(values: ArrayLike<number>): GammaParams {
  const data = Float64Array.from(values);
  if (data.length < 2) throw new GammaFitError(`gamma fit needs at least 2 training scores, got ${data.length}`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new GammaFitError(`gamma fit: training score ${i} is ${data[i]}`);
  }
  const n = data.length;
  const mu = npSum(data) / n;
  const dev2 = data.map((v) => (v - mu) ** 2);
  const dev3 = data.map((v) => (v - mu) ** 3);
  const m2 = npSum(dev2) / n;
  if (m2 === 0) throw new GammaFitError(`gamma fit: all ${n} training scores are equal (${mu}); no spread to fit`);
  const m3 = npSum(dev3) / n;
  const skew = m3 / m2 ** 1.5;
  const a0 = 4 / (1e-8 + skew ** 2);
  // fit_loc_scale: gamma(a) has mean a and variance a
  let scale0 = Math.sqrt(m2 / a0);
  let loc0 = mu - scale0 * a0;
  if (!Number.isFinite(loc0)) loc0 = 0;
  if (!(Number.isFinite(scale0) && scale0 > 0)) scale0 = 1;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  // _fit_loc_scale_support: the support [loc, inf) must hold the data, else loc = min - 10% of the width, scale 1
  if (!(loc0 < min)) {
    loc0 = min - 0.1 * (max - min);
    scale0 = 1;
  }
  const [shape, loc, scale] = fmin((theta) => penalizedNnlf(theta, data), [a0, loc0, scale0]) as [number, number, number];
  if (!(shape > 0 && scale > 0)) {
    throw new GammaFitError('gamma fit converged to parameters outside the distribution range (shape or scale <= 0)');
  }
  return { shape, loc, scale };
}

/** The baselines' decision threshold: gamma.ppf(percentile, *gamma.fit(trainScores)). */
export function decisionThreshold(trainScores: ArrayLike<number>, percentile = 0.9): number {
  return gammaPpf(percentile, fitGamma(trainScores));
}
