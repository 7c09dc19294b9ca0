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
  const last = k - 1;
  for (let b0 = 0; b0 < n; b0 += BANK_BLOCK) {
    const b1 = Math.min(n, b0 + BANK_BLOCK);
    let qi = 0;
    // Register tile of 4 queries x 2 bank rows: each loaded value feeds 2-4 products, which measured
    // ~1.5x faster than one query at a time in V8 (it does not vectorise these loops itself).
    for (; qi + 4 <= m; qi += 4) {
      const o0 = qi * dim;
      const o1 = o0 + dim;
      const o2 = o1 + dim;
      const o3 = o2 + dim;
      const t0 = qi * k;
      const t1 = t0 + k;
      const t2 = t1 + k;
      const t3 = t2 + k;
      let j = b0;
      for (; j + 2 <= b1; j += 2) {
        const bo = j * dim;
        const bp = bo + dim;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let u0 = 0;
        let u1 = 0;
        let u2 = 0;
        let u3 = 0;
        for (let i = 0; i < dim; i++) {
          const x = bank[bo + i]!;
          const y = bank[bp + i]!;
          const a0 = q[o0 + i]!;
          const a1 = q[o1 + i]!;
          const a2 = q[o2 + i]!;
          const a3 = q[o3 + i]!;
          s0 += a0 * x;
          s1 += a1 * x;
          s2 += a2 * x;
          s3 += a3 * x;
          u0 += a0 * y;
          u1 += a1 * y;
          u2 += a2 * y;
          u3 += a3 * y;
        }
        // Row j before row j + 1 for every query, so ties still go to the lower index.
        if (s0 > sims[t0 + last]!) insert(sims, idx, t0, k, s0, j);
        if (u0 > sims[t0 + last]!) insert(sims, idx, t0, k, u0, j + 1);
        if (s1 > sims[t1 + last]!) insert(sims, idx, t1, k, s1, j);
        if (u1 > sims[t1 + last]!) insert(sims, idx, t1, k, u1, j + 1);
        if (s2 > sims[t2 + last]!) insert(sims, idx, t2, k, s2, j);
        if (u2 > sims[t2 + last]!) insert(sims, idx, t2, k, u2, j + 1);
        if (s3 > sims[t3 + last]!) insert(sims, idx, t3, k, s3, j);
        if (u3 > sims[t3 + last]!) insert(sims, idx, t3, k, u3, j + 1);
      }
      for (; j < b1; j++) {
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
        if (s0 > sims[t0 + last]!) insert(sims, idx, t0, k, s0, j);
        if (s1 > sims[t1 + last]!) insert(sims, idx, t1, k, s1, j);
        if (s2 > sims[t2 + last]!) insert(sims, idx, t2, k, s2, j);
        if (s3 > sims[t3 + last]!) insert(sims, idx, t3, k, s3, j);
      }
    }
    // Leftover queries (and the one-clip-at-a-time path): one query against 4 rows at once.
    for (; qi < m; qi++) {
      const o0 = qi * dim;
      const t0 = qi * k;
      let j = b0;
      for (; j + 4 <= b1; j += 4) {
        const r0 = j * dim;
        const r1 = r0 + dim;
        const r2 = r1 + dim;
        const r3 = r2 + dim;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let i = 0; i < dim; i++) {
          const a = q[o0 + i]!;
          s0 += a * bank[r0 + i]!;
          s1 += a * bank[r1 + i]!;
          s2 += a * bank[r2 + i]!;
          s3 += a * bank[r3 + i]!;
        }
        if (s0 > sims[t0 + last]!) insert(sims, idx, t0, k, s0, j);
        if (s1 > sims[t0 + last]!) insert(sims, idx, t0, k, s1, j + 1);
        if (s2 > sims[t0 + last]!) insert(sims, idx, t0, k, s2, j + 2);
        if (s3 > sims[t0 + last]!) insert(sims, idx, t0, k, s3, j + 3);
      }
      for (; j < b1; j++) {
        const bo = j * dim;
        let s0 = 0;
        for (let i = 0; i < dim; i++) s0 += q[o0 + i]! * bank[bo + i]!;
        if (s0 > sims[t0 + last]!) insert(sims, idx, t0, k, s0, j);
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
