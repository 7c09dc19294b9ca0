import { MetricInputError, NonFiniteScoreError, SingleClassError } from './errors.js';

/**
 * ROC metrics exactly as scikit-learn 1.2 computes them (sklearn.metrics.roc_curve /
 * roc_auc_score / _binary_roc_auc_score), which is what the DCASE evaluators call.
 * Label 1 = anomaly (positive class), higher score = more anomalous.
 */

export type Labels = ArrayLike<number>;
export type Scores = ArrayLike<number>;

/**
 * numpy's pairwise summation (add.reduce on a contiguous float64 array): 8 interleaved partial sums
 * per block of <= 128, halves above. Reproducing the order keeps us within an ulp or two of numpy.
 */
export function npSum(a: ArrayLike<number>, start = 0, end = a.length): number {
  const n = end - start;
  if (n < 8) {
    let res = 0;
    for (let i = start; i < end; i++) res += a[i]!;
    return res;
  }
  if (n <= 128) {
    const r = [a[start]!, a[start + 1]!, a[start + 2]!, a[start + 3]!, a[start + 4]!, a[start + 5]!, a[start + 6]!, a[start + 7]!];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j]! += a[start + i + j]!;
    }
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return npSum(a, start, start + n2) + npSum(a, start + n2, end);
}

/** numpy.mean of a 1-D array. */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) throw new MetricInputError('mean of an empty list is undefined');
  return npSum(values) / values.length;
}

/**
 * scipy.stats.hmean (scipy 1.10): 1 / mean(1 / x). Values must be >= 0; a 0 gives 0.
 * The DCASE evaluators floor every value at machine epsilon first: use `hmeanFloored` for that.
 */
export function hmean(values: ArrayLike<number>): number {
  if (values.length === 0) throw new MetricInputError('harmonic mean of an empty list is undefined');
  const inv = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0)) throw new MetricInputError(`harmonic mean needs values >= 0, got ${v} at index ${i}`);
    inv[i] = 1 / v;
  }
  return 1 / (npSum(inv) / values.length);
}

/** Python's sys.float_info.epsilon (2^-52), the floor the official evaluators apply before hmean. */
export const FLOAT_EPSILON = Number.EPSILON;

/** hmean(max(x, eps)) — the official DCASE 2023 evaluator's harmonic mean. */
export function hmeanFloored(values: ArrayLike<number>): number {
  return hmean(Array.from(values, (v) => Math.max(v, FLOAT_EPSILON)));
}

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  thresholds: number[];
}

function checkInputs(labels: Labels, scores: Scores, what: string): { nPos: number; nNeg: number } {
  if (labels.length !== scores.length) {
    throw new MetricInputError(`${what}: ${labels.length} labels but ${scores.length} scores`);
  }
  let nPos = 0;
  let nNeg = 0;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === 1) nPos++;
    else if (l === 0) nNeg++;
    else throw new MetricInputError(`${what}: label at index ${i} is ${l}; labels must be 0 (normal) or 1 (anomaly)`);
    const s = scores[i]!;
    if (!Number.isFinite(s)) throw new NonFiniteScoreError(`${what}: score at index ${i} is ${s}`);
  }
  if (nPos === 0 || nNeg === 0) {
    throw new SingleClassError(
      `${what}: labels hold only ${nPos === 0 ? 'normal' : 'anomalous'} clips (${labels.length}); AUC is undefined with one class`,
    );
  }
  return { nPos, nNeg };
}

/** sklearn.metrics.roc_curve(labels, scores, drop_intermediate=True). */
export function rocCurve(labels: Labels, scores: Scores, dropIntermediate = true, context = 'roc_curve'): RocCurve {
  checkInputs(labels, scores, context);
  const n = labels.length;
  // argsort(kind='mergesort')[::-1]: ties are grouped below, so their internal order cannot matter
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || b - a);
  return curveFromSorted(
    order.map((i) => labels[i]!),
    order.map((i) => scores[i]!),
    dropIntermediate,
  );
}

/**
 * The ROC of clips already in descending score order (what _binary_clf_curve sorts into); for
 * callers that evaluate many subsets of one sorted list (the jackknife).
 */
export function rocCurveSorted(sortedLabels: Labels, sortedScores: Scores, dropIntermediate = true, context = 'roc_curve'): RocCurve {
  checkInputs(sortedLabels, sortedScores, context);
  for (let k = 1; k < sortedScores.length; k++) {
    if (sortedScores[k]! > sortedScores[k - 1]!) throw new MetricInputError(`${context}: scores are not in descending order at index ${k}`);
  }
  return curveFromSorted(sortedLabels, sortedScores, dropIntermediate);
}

function curveFromSorted(labels: Labels, scores: Scores, dropIntermediate: boolean): RocCurve {
  const n = labels.length;
  let fps: number[] = [];
  let tps: number[] = [];
  let thr: number[] = [];
  let cumPos = 0;
  for (let k = 0; k < n; k++) {
    cumPos += labels[k]!;
    if (k === n - 1 || scores[k + 1]! !== scores[k]!) {
      tps.push(cumPos);
      fps.push(1 + k - cumPos);
      thr.push(scores[k]!);
    }
  }
  if (dropIntermediate && fps.length > 2) {
    const keep: number[] = [0];
    for (let j = 1; j < fps.length - 1; j++) {
      const d2f = fps[j + 1]! - 2 * fps[j]! + fps[j - 1]!;
      const d2t = tps[j + 1]! - 2 * tps[j]! + tps[j - 1]!;
      if (d2f !== 0 || d2t !== 0) keep.push(j);
    }
    keep.push(fps.length - 1);
    fps = keep.map((j) => fps[j]!);
    tps = keep.map((j) => tps[j]!);
    thr = keep.map((j) => thr[j]!);
  }
  const fTot = fps[fps.length - 1]!;
  const tTot = tps[tps.length - 1]!;
  return {
    fpr: [0, ...fps.map((f) => f / fTot)],
    tpr: [0, ...tps.map((t) => t / tTot)],
    thresholds: [thr[0]! + 1, ...thr],
  };
}

/** Area under a ROC curve (sklearn.metrics.auc via np.trapz). */
export function aucOfCurve(curve: RocCurve): number {
  return trapz(curve.fpr, curve.tpr);
}

/** McClish-standardised partial AUC of a ROC curve (see `pauc`). */
export function paucOfCurve(curve: RocCurve, maxFpr = 0.1): number {
  checkMaxFpr(maxFpr);
  if (maxFpr === 1) return trapz(curve.fpr, curve.tpr);
  const partial = partialArea(curve, maxFpr);
  const minArea = 0.5 * maxFpr ** 2;
  const maxArea = maxFpr;
  return 0.5 * (1 + (partial - minArea) / (maxArea - minArea));
}

/** np.trapz(y, x) with numpy's evaluation order: sum(diff(x) * (y[1:] + y[:-1]) / 2). */
function trapz(x: number[], y: number[]): number {
  const parts = new Float64Array(x.length - 1);
  for (let i = 0; i < parts.length; i++) parts[i] = ((x[i + 1]! - x[i]!) * (y[i + 1]! + y[i]!)) / 2;
  return npSum(parts);
}

/** np.interp for one point inside [xp0, xp1). */
function interp(x: number, x0: number, x1: number, y0: number, y1: number): number {
  if (x === x0) return y0;
  const slope = (y1 - y0) / (x1 - x0);
  return slope * (x - x0) + y0;
}

/** Area under the ROC curve restricted to FPR in [0, maxFpr] (not normalised), sklearn's interpolation. */
function partialArea(curve: RocCurve, maxFpr: number): number {
  const { fpr, tpr } = curve;
  // np.searchsorted(fpr, max_fpr, 'right')
  let stop = 0;
  while (stop < fpr.length && fpr[stop]! <= maxFpr) stop++;
  if (stop === fpr.length) return trapz(fpr, tpr);
  const x = fpr.slice(0, stop);
  const y = tpr.slice(0, stop);
  y.push(interp(maxFpr, fpr[stop - 1]!, fpr[stop]!, tpr[stop - 1]!, tpr[stop]!));
  x.push(maxFpr);
  return trapz(x, y);
}

function checkMaxFpr(maxFpr: number): void {
  if (!(maxFpr > 0 && maxFpr <= 1)) throw new MetricInputError(`max_fpr must be in (0, 1], got ${maxFpr}`);
}

/** sklearn.metrics.roc_auc_score(labels, scores): ties count one half, as the trapezoid over tied groups does. */
export function auc(labels: Labels, scores: Scores, context = 'auc'): number {
  return aucOfCurve(rocCurve(labels, scores, true, context));
}

/**
 * pAUC as the DCASE evaluators report it: sklearn roc_auc_score(labels, scores, max_fpr) — the
 * McClish standardised partial AUC, 0.5 * (1 + (A - maxFpr^2/2) / (maxFpr - maxFpr^2/2)) where A is
 * the raw partial area over FPR in [0, maxFpr]. A random scorer gets 0.5, a perfect one 1; the
 * minimum is not 0 (an inverted scorer gets 0.5 * (1 - maxFpr / (2 - maxFpr)) = 0.4737 at 0.1).
 */
export function pauc(labels: Labels, scores: Scores, maxFpr = 0.1, context = 'pauc'): number {
  checkMaxFpr(maxFpr);
  return paucOfCurve(rocCurve(labels, scores, true, context), maxFpr);
}

/**
 * The raw normalised partial AUC: (area under the ROC for FPR in [0, maxFpr]) / maxFpr, in [0, 1]
 * (0 for an inverted scorer, maxFpr / 2 for a random one). This is the definition written in the
 * DCASE 2020 task description; it is NOT what the evaluator scripts report (see `pauc`).
 */
export function paucRaw(labels: Labels, scores: Scores, maxFpr = 0.1, context = 'paucRaw'): number {
  checkMaxFpr(maxFpr);
  return partialArea(rocCurve(labels, scores, true, context), maxFpr) / maxFpr;
}
