import { ExactBank, HNSW_DEFAULTS, HnswBank, type KnnSearchResult } from '@anopatch/knn-backend';

/** KNN scoring speed (exact vs HNSW) and HNSW recall@1, for `anopatch-bench speed`. */
export interface KnnSpeedOptions {
  /** Bank sizes to time (default 1k, 10k, 100k: the DCASE bank size and two larger ones). */
  sizes?: readonly number[];
  /** Embedding dimension (default 128, the paper's). */
  dim?: number;
  /** Queries timed per bank size (default: 2000, fewer for banks over 25k rows so exact search stays ~seconds). */
  queries?: (size: number) => number;
  /** Bank size of the recall check the issue asks for (default 20000; 0 skips it). */
  recallSize?: number;
  /** Queries of the recall check (default 1000). */
  recallQueries?: number;
  /** HNSW parameters (default HNSW_DEFAULTS). */
  hnsw?: { m?: number; efConstruction?: number; efSearch?: number };
  /**
   * 'gaussian' (default): independent standard-normal rows and queries, no structure at all
   * (HNSW's hardest case). 'clustered': 100 Gaussian centres, rows and queries = centre + 0.5 x noise,
   * closer to embeddings trained to cluster by machine class.
   */
  data?: 'gaussian' | 'clustered';
  /** Seed of the random bank and query vectors (default 1). */
  seed?: number;
  /** Called with one line per finished measurement (progress for long runs). */
  onProgress?: (line: string) => void;
}

export interface KnnTiming {
  /** Seconds to add all rows (normalisation, plus the graph for HNSW). */
  buildS: number;
  /** Queries per second through the batch path (`search` with all queries at once). */
  queriesPerS: number;
  /** Queries per second one `score(query)` call at a time (the per-clip path). */
  singleQueriesPerS: number;
  /** Queries timed. */
  queries: number;
}

export interface KnnSpeedRow {
  size: number;
  exact: KnnTiming;
  hnsw: KnnTiming;
  /** Fraction of queries whose HNSW nearest neighbour is the exact one (same queries as timed). */
  hnswRecallAt1: number;
}

export interface KnnSpeedReport {
  dim: number;
  hnswParams: { m: number; efConstruction: number; efSearch: number };
  rows: KnnSpeedRow[];
  /** The acceptance check: recall@1 of HNSW vs exact at `size` rows with the parameters above. */
  recall: { size: number; queries: number; recallAt1: number } | null;
  /** What the bank and query vectors were. */
  data: string;
}

/** Deterministic standard-normal rows, packed (mulberry32 + Box-Muller). */
function gaussian(rows: number, dim: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(rows * dim);
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

const CLUSTERS = 100;
const CLUSTER_NOISE = 0.5;

/** Rows drawn around shared centres: the centres depend on `seed` only, the offsets on `offsetSeed`. */
function clustered(rows: number, dim: number, seed: number, offsetSeed: number): Float32Array {
  const centres = gaussian(CLUSTERS, dim, seed);
  const out = gaussian(rows, dim, offsetSeed);
  for (let r = 0; r < rows; r++) {
    const c = (r * 7919) % CLUSTERS;
    for (let i = 0; i < dim; i++) out[r * dim + i] = centres[c * dim + i]! + CLUSTER_NOISE * out[r * dim + i]!;
  }
  return out;
}

function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

function recallAt1(exact: KnnSearchResult, approx: KnnSearchResult): number {
  let hits = 0;
  // A different index at an identical distance is an exact tie, not a miss.
  for (let q = 0; q < exact.count; q++) if (exact.indices[q] === approx.indices[q] || exact.scores[q] === approx.scores[q]) hits++;
  return exact.count === 0 ? 1 : hits / exact.count;
}

function timeBank(bank: ExactBank | HnswBank, data: Float32Array, queries: Float32Array, dim: number): { timing: KnnTiming; result: KnnSearchResult } {
  let t = performance.now();
  bank.add(data);
  const buildS = seconds(t);
  const n = queries.length / dim;
  t = performance.now();
  const result = bank.search(queries);
  const batchS = seconds(t);
  // The per-call path on at most 500 queries: enough for a stable rate.
  const single = Math.min(n, 500);
  t = performance.now();
  for (let q = 0; q < single; q++) bank.score(queries.subarray(q * dim, (q + 1) * dim));
  const singleS = seconds(t);
  return { timing: { buildS, queriesPerS: n / batchS, singleQueriesPerS: single / singleS, queries: n }, result };
}

const defaultQueries = (size: number): number => (size <= 25_000 ? 2000 : Math.max(200, Math.round(5e7 / size)));

/** Times exact and HNSW banks on random vectors and checks HNSW recall@1. Synchronous; can take minutes at 100k. */
export function measureKnn(options: KnnSpeedOptions = {}): KnnSpeedReport {
  const dim = options.dim ?? 128;
  const sizes = options.sizes ?? [1000, 10_000, 100_000];
  const queriesFor = options.queries ?? defaultQueries;
  const seed = options.seed ?? 1;
  const hnswParams = {
    m: options.hnsw?.m ?? HNSW_DEFAULTS.m,
    efConstruction: options.hnsw?.efConstruction ?? HNSW_DEFAULTS.efConstruction,
    efSearch: options.hnsw?.efSearch ?? HNSW_DEFAULTS.efSearch,
  };
  const kind = options.data ?? 'gaussian';
  const make = (rows: number, s: number): Float32Array => (kind === 'clustered' ? clustered(rows, dim, seed, s) : gaussian(rows, dim, s));
  const progress = options.onProgress ?? ((): void => undefined);
  const rows: KnnSpeedRow[] = [];
  for (const size of sizes) {
    const data = make(size, seed * 1000 + size);
    const queries = make(queriesFor(size), seed * 1000 + size + 1);
    const exact = timeBank(new ExactBank({ dim }), data, queries, dim);
    const hnsw = timeBank(new HnswBank({ dim, ...hnswParams }), data, queries, dim);
    const row = { size, exact: exact.timing, hnsw: hnsw.timing, hnswRecallAt1: recallAt1(exact.result, hnsw.result) };
    rows.push(row);
    progress(
      `knn ${kind} ${size} x ${dim}: exact build ${row.exact.buildS.toFixed(3)} s, ${row.exact.queriesPerS.toFixed(0)} q/s batch, ${row.exact.singleQueriesPerS.toFixed(0)} q/s single; ` +
        `hnsw build ${row.hnsw.buildS.toFixed(3)} s, ${row.hnsw.queriesPerS.toFixed(0)} q/s batch, ${row.hnsw.singleQueriesPerS.toFixed(0)} q/s single, recall@1 ${row.hnswRecallAt1.toFixed(4)}`,
    );
  }
  let recall: KnnSpeedReport['recall'] = null;
  const recallSize = options.recallSize ?? 20_000;
  if (recallSize > 0) {
    const nq = options.recallQueries ?? 1000;
    const data = make(recallSize, seed * 7919);
    const queries = make(nq, seed * 7919 + 1);
    const exact = new ExactBank({ dim });
    exact.add(data);
    const hnsw = new HnswBank({ dim, ...hnswParams });
    hnsw.add(data);
    recall = { size: recallSize, queries: nq, recallAt1: recallAt1(exact.search(queries), hnsw.search(queries)) };
    progress(`knn ${kind} recall@1 HNSW vs exact, ${recallSize} x ${dim}, ${nq} queries: ${recall.recallAt1.toFixed(4)}`);
  }
  const data =
    kind === 'clustered'
      ? `seeded: ${CLUSTERS} standard-normal centres, bank and query rows = centre + ${CLUSTER_NOISE} x standard normal`
      : 'seeded: independent standard-normal bank and query vectors';
  return { dim, hnswParams, rows, recall, data };
}
