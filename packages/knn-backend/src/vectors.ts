import { DimensionMismatchError, NonFiniteVectorError, ZeroVectorError } from './errors.js';

/** One vector: a Float32Array, a Float64Array or a plain number array. */
export type Vector = ArrayLike<number>;

/**
 * Several vectors: either a list of rows, or one packed row-major typed array whose length is a
 * multiple of the dimension (the layout an embedding batch [N, dim] comes out of a model in).
 */
export type Vectors = Float32Array | Float64Array | readonly Vector[];

/** Number of rows in `input`, checking every row's length against `dim`. */
export function countRows(input: Vectors, dim: number, where: string): number {
  if (Array.isArray(input)) {
    const rows = input as readonly Vector[];
    for (let r = 0; r < rows.length; r++) {
      const len = rows[r]!.length;
      if (len !== dim) throw new DimensionMismatchError(where, dim, len, ` (row ${r})`);
    }
    return rows.length;
  }
  const packed = input as Float32Array | Float64Array;
  if (packed.length % dim !== 0) {
    throw new DimensionMismatchError(where, dim, packed.length, ` (a packed array of length ${packed.length} is not a whole number of rows)`);
  }
  return packed.length / dim;
}

/**
 * Writes `rows` unit-length copies of `input` into `out` from row `outRow` on. The norm is taken in
 * float64 after scaling by the largest magnitude, so neither huge (overflowing squares) nor tiny
 * (underflowing squares) embeddings lose their direction.
 */
export function normaliseInto(input: Vectors, rows: number, dim: number, out: Float32Array | Float64Array, outRow: number, where: string): void {
  const list = Array.isArray(input) ? (input as readonly Vector[]) : null;
  const packed = list === null ? (input as Float32Array | Float64Array) : null;
  for (let r = 0; r < rows; r++) {
    const src: Vector = list !== null ? list[r]! : packed!;
    const off = list !== null ? 0 : r * dim;
    let peak = 0;
    for (let i = 0; i < dim; i++) {
      const v = src[off + i]!;
      if (!Number.isFinite(v)) throw new NonFiniteVectorError(where, r, i, v);
      const a = Math.abs(v);
      if (a > peak) peak = a;
    }
    if (peak === 0) throw new ZeroVectorError(where, r);
    let sum = 0;
    for (let i = 0; i < dim; i++) {
      const t = src[off + i]! / peak;
      sum += t * t;
    }
    const norm = peak * Math.sqrt(sum);
    const o = (outRow + r) * dim;
    for (let i = 0; i < dim; i++) out[o + i] = src[off + i]! / norm;
  }
}

/** Unit-length float64 copies of the queries, packed row-major. */
export function normaliseQueries(input: Vectors, dim: number, where: string): { data: Float64Array; rows: number } {
  const rows = countRows(input, dim, where);
  const data = new Float64Array(rows * dim);
  normaliseInto(input, rows, dim, data, 0, where);
  return { data, rows };
}
