/**
 * Brute-force cosine top-k on unit rows: a blocked product queries x bank^T with float64
 * accumulation. Similarities are kept (larger is nearer) and turned into distances at the end.
 */

/** Bank rows per block: 1024 x 128 float32 = 512 KiB, which stays in L2 while a whole query set streams past it. */
const BANK_BLOCK = 1024;

/**
 * For each of `m` queries (unit rows of `q`, float64) finds the `k` most similar of the `n` unit rows
 * of `bank`. Results go to `sims`/`idx` (m x k, most similar first). Ties keep the lower bank index:
 * rows are visited in increasing index order and a candidate only displaces a strictly less similar one.
 */
export function exactTopK(q: Float64Array, m: number, bank: Float32Array, n: number, dim: number, k: number, sims: Float64Array, idx: Int32Array): void {
  sims.fill(Number.NEGATIVE_INFINITY, 0, m * k);
  idx.fill(-1, 0, m * k);
  for (let b0 = 0; b0 < n; b0 += BANK_BLOCK) {
    const b1 = Math.min(n, b0 + BANK_BLOCK);
    let qi = 0;
    // Four queries share each loaded bank row: a quarter of the memory traffic of one-at-a-time.
    for (; qi + 4 <= m; qi += 4) {
      const o0 = qi * dim;
      const o1 = o0 + dim;
      const o2 = o1 + dim;
      const o3 = o2 + dim;
      const t0 = qi * k;
      const t1 = t0 + k;
      const t2 = t1 + k;
      const t3 = t2 + k;
      for (let j = b0; j < b1; j++) {
        const bo = j * dim;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let i = 0; i < dim; i++) {
          const x = bank[bo + i]!;
          s0 += q[o0 + i]! * x;
          s1 += q[o1 + i]! * x;
          s2 += q[o2 + i]! * x;
          s3 += q[o3 + i]! * x;
        }
        if (s0 > sims[t0 + k - 1]!) insert(sims, idx, t0, k, s0, j);
        if (s1 > sims[t1 + k - 1]!) insert(sims, idx, t1, k, s1, j);
        if (s2 > sims[t2 + k - 1]!) insert(sims, idx, t2, k, s2, j);
        if (s3 > sims[t3 + k - 1]!) insert(sims, idx, t3, k, s3, j);
      }
    }
    for (; qi < m; qi++) {
      const o0 = qi * dim;
      const t0 = qi * k;
      for (let j = b0; j < b1; j++) {
        const bo = j * dim;
        let s0 = 0;
        for (let i = 0; i < dim; i++) s0 += q[o0 + i]! * bank[bo + i]!;
        if (s0 > sims[t0 + k - 1]!) insert(sims, idx, t0, k, s0, j);
      }
    }
  }
}

/** Inserts (s, j) into the descending list at [base, base + k), after any entry with an equal similarity. */
function insert(sims: Float64Array, idx: Int32Array, base: number, k: number, s: number, j: number): void {
  let p = base + k - 1;
  while (p > base && sims[p - 1]! < s) {
    sims[p] = sims[p - 1]!;
    idx[p] = idx[p - 1]!;
    p--;
  }
  sims[p] = s;
  idx[p] = j;
}

/** Cosine similarity of float64 unit query row `qi` with float32 unit bank row `j`, float64 accumulation. */
export function dotRow(q: Float64Array, qi: number, bank: Float32Array, j: number, dim: number): number {
  const qo = qi * dim;
  const bo = j * dim;
  let s = 0;
  for (let i = 0; i < dim; i++) s += q[qo + i]! * bank[bo + i]!;
  return s;
}

/** 1 - cos, clamped to [0, 2]: rounding can push a self-match a hair below zero. */
export function cosineDistance(similarity: number): number {
  const d = 1 - similarity;
  return d < 0 ? 0 : d > 2 ? 2 : d;
}
