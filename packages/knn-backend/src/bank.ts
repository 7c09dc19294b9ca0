import { join } from 'node:path';

import { BankMismatchError, CorruptBankFileError, DimensionMismatchError, EmptyBankError, InvalidKnnParameterError } from './errors.js';
import { cosineDistance } from './kernel.js';
import {
  FORMAT_VERSION,
  fileEntry,
  intField,
  prepareDir,
  readManifest,
  readVerified,
  sha256,
  stringArrayField,
  writeAtomic,
  writeManifest,
  type FileEntry,
  type SaveOptions,
} from './persist.js';
import { countRows, normaliseInto, normaliseQueries, type Vector, type Vectors } from './vectors.js';

export type BankKind = 'exact' | 'hnsw';
/** The only metric: the paper scores with cosine distance 1 - cos. */
export type Metric = 'cosine';

export interface Neighbour {
  /** Row of the bank, 0-based in the order vectors were added. */
  readonly index: number;
  /** The id given for that row at `add` (e.g. the training clip's file name), else its index as a string. */
  readonly id: string;
  /** Cosine distance 1 - cos, in [0, 2]. */
  readonly distance: number;
}

export interface QueryScore {
  /** Anomaly score: the mean distance to the k nearest rows (k = 1: the nearest distance). */
  readonly score: number;
  /** The nearest row, which is what explains a k = 1 score. */
  readonly neighbourIndex: number;
  readonly neighbourId: string;
  /** The k nearest rows, nearest first. */
  readonly neighbours: readonly Neighbour[];
}

/** Batch search results in packed arrays (the fast path; `explain` turns one query into a QueryScore). */
export interface KnnSearchResult {
  /** Number of queries. */
  readonly count: number;
  readonly k: number;
  /** [count]: mean of each query's k distances. */
  readonly scores: Float64Array;
  /** [count, k], nearest first. */
  readonly distances: Float64Array;
  /** [count, k] bank rows matching `distances`. */
  readonly indices: Int32Array;
}

export interface SearchOptions {
  /** Neighbours per query; defaults to the bank's k. */
  k?: number;
}

/** A memory bank of normal embeddings scored by cosine distance. */
export interface KnnBank {
  readonly kind: BankKind;
  readonly metric: Metric;
  readonly dim: number;
  /** Default number of neighbours averaged into a score. */
  readonly k: number;
  /** Number of vectors in the bank. */
  readonly size: number;
  /** Ids of the rows, in row order. */
  readonly ids: readonly string[];
  /** Adds rows (L2-normalised on the way in). `ids` defaults to the row indices. */
  add(vectors: Vectors, ids?: readonly string[]): void;
  /** Scores many queries at once: the fast path. */
  search(queries: Vectors, options?: SearchOptions): KnnSearchResult;
  /** Scores many queries, one explained result each. */
  scoreBatch(queries: Vectors, options?: SearchOptions): QueryScore[];
  /** Scores one query. */
  score(query: Vector, options?: SearchOptions): QueryScore;
  /** Turns query `q` of a search result into a QueryScore with ids. */
  explain(result: KnnSearchResult, q: number): QueryScore;
  /** Saves the bank into `dir` (manifest.json + data files, each written atomically). */
  save(dir: string, options?: SaveOptions): void;
}

export interface BankOptions {
  /** Embedding dimension (128 in the paper). */
  dim: number;
  /** Neighbours averaged into a score (default 1, the paper's setting). */
  k?: number;
  /** Names the bank in error messages, e.g. the group key. */
  name?: string;
}

export const MANIFEST = 'manifest.json';
export const BANK_FORMAT = 'anopatch-knn-bank';
const VECTORS_FILE = 'vectors.f32';

export function checkPositiveInt(value: number, what: string, where: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidKnnParameterError(`${where}: ${what} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Rows, ids, validation, scoring and persistence shared by both banks; a subclass supplies only the
 * neighbour search over the unit rows it is given.
 */
export abstract class BaseBank implements KnnBank {
  abstract readonly kind: BankKind;
  readonly metric: Metric = 'cosine';
  readonly dim: number;
  readonly k: number;
  readonly name: string;
  /** Unit rows, row-major, with spare capacity past `size * dim`. */
  protected rows: Float32Array;
  protected count = 0;
  private readonly rowIds: string[] = [];

  protected constructor(options: BankOptions, defaultName: string) {
    this.name = options.name ?? defaultName;
    this.dim = checkPositiveInt(options.dim, 'dim', this.name);
    this.k = checkPositiveInt(options.k ?? 1, 'k', this.name);
    this.rows = new Float32Array(0);
  }

  get size(): number {
    return this.count;
  }

  get ids(): readonly string[] {
    return this.rowIds;
  }

  /** A copy of the unit rows actually stored ([size, dim]). */
  vectors(): Float32Array {
    return this.rows.slice(0, this.count * this.dim);
  }

  add(vectors: Vectors, ids?: readonly string[]): void {
    const where = `${this.name} add`;
    const n = countRows(vectors, this.dim, where);
    if (ids !== undefined && ids.length !== n) {
      throw new InvalidKnnParameterError(`${where}: ${ids.length} ids given for ${n} vectors`);
    }
    if (n === 0) return;
    const start = this.count;
    this.reserve(start + n);
    // Validate + normalise into the spare capacity first: a bad row leaves the bank unchanged.
    normaliseInto(vectors, n, this.dim, this.rows, start, where);
    this.insertRows(start, n);
    this.count = start + n;
    for (let r = 0; r < n; r++) this.rowIds.push(ids !== undefined ? ids[r]! : String(start + r));
  }

  search(queries: Vectors, options?: SearchOptions): KnnSearchResult {
    const where = `${this.name} query`;
    const k = this.resolveK(options);
    const { data, rows } = normaliseQueries(queries, this.dim, where);
    const sims = new Float64Array(rows * k);
    const indices = new Int32Array(rows * k);
    if (rows > 0) this.searchUnit(data, rows, k, sims, indices);
    const distances = new Float64Array(rows * k);
    const scores = new Float64Array(rows);
    for (let q = 0; q < rows; q++) {
      let sum = 0;
      for (let r = 0; r < k; r++) {
        const d = cosineDistance(sims[q * k + r]!);
        distances[q * k + r] = d;
        sum += d;
      }
      scores[q] = sum / k;
    }
    return { count: rows, k, scores, distances, indices };
  }

  scoreBatch(queries: Vectors, options?: SearchOptions): QueryScore[] {
    const result = this.search(queries, options);
    const out: QueryScore[] = new Array<QueryScore>(result.count);
    for (let q = 0; q < result.count; q++) out[q] = this.explain(result, q);
    return out;
  }

  score(query: Vector, options?: SearchOptions): QueryScore {
    if (Array.isArray(query) || ArrayBuffer.isView(query)) {
      if (query.length !== this.dim) throw new DimensionMismatchError(`${this.name} query`, this.dim, query.length);
    }
    return this.explain(this.search([query], options), 0);
  }

  explain(result: KnnSearchResult, q: number): QueryScore {
    if (!Number.isInteger(q) || q < 0 || q >= result.count) {
      throw new InvalidKnnParameterError(`${this.name}: query ${q} is outside the result's ${result.count} queries`);
    }
    const neighbours: Neighbour[] = [];
    for (let r = 0; r < result.k; r++) {
      const index = result.indices[q * result.k + r]!;
      neighbours.push({ index, id: this.rowIds[index]!, distance: result.distances[q * result.k + r]! });
    }
    return { score: result.scores[q]!, neighbourIndex: neighbours[0]!.index, neighbourId: neighbours[0]!.id, neighbours };
  }

  save(dir: string, options?: SaveOptions): void {
    prepareDir(dir, MANIFEST, options);
    const bytes = new Uint8Array(this.rows.buffer, this.rows.byteOffset, this.count * this.dim * 4);
    writeAtomic(join(dir, VECTORS_FILE), bytes);
    const vectors: FileEntry = { name: VECTORS_FILE, bytes: bytes.length, sha256: sha256(bytes) };
    const extra = this.saveExtra(dir);
    writeManifest(join(dir, MANIFEST), {
      format: BANK_FORMAT,
      formatVersion: FORMAT_VERSION,
      kind: this.kind,
      metric: this.metric,
      dim: this.dim,
      k: this.k,
      count: this.count,
      dtype: 'float32-le',
      vectors,
      ...extra,
      ids: this.rowIds,
    });
  }

  /** Fills sims/indices ([rows, k], most similar first, ties to the lower index) for unit queries. */
  protected abstract searchUnit(queries: Float64Array, rows: number, k: number, sims: Float64Array, indices: Int32Array): void;

  /** Called after rows [start, start + n) were written (HNSW inserts them into its graph). */
  protected abstract insertRows(start: number, n: number): void;

  /** Writes kind-specific files and returns the manifest fields describing them. */
  protected abstract saveExtra(dir: string): Record<string, unknown>;

  /** Restores rows and ids from a verified manifest (used by the subclasses' `load`). */
  protected restore(data: Float32Array, ids: string[]): void {
    this.rows = data;
    this.count = ids.length;
    this.rowIds.push(...ids);
  }

  private resolveK(options: SearchOptions | undefined): number {
    const k = checkPositiveInt(options?.k ?? this.k, 'k', this.name);
    if (this.count === 0) throw new EmptyBankError(this.name);
    if (k > this.count) throw new InvalidKnnParameterError(`${this.name}: k = ${k} but the bank holds only ${this.count} vectors`);
    return k;
  }

  private reserve(rows: number): void {
    if (rows * this.dim <= this.rows.length) return;
    const capacity = Math.max(rows, Math.ceil((this.rows.length / this.dim) * 1.5), 64);
    const grown = new Float32Array(capacity * this.dim);
    grown.set(this.rows.subarray(0, this.count * this.dim));
    this.rows = grown;
  }
}

export interface LoadOptions {
  /** Refuse a bank of another dimension (BankMismatchError) instead of failing later at scoring time. */
  dim?: number;
  /** Refuse a bank of another kind. */
  kind?: BankKind;
}

export interface LoadedBankFiles {
  body: Record<string, unknown>;
  manifestFile: string;
  manifestSha256: string;
  kind: BankKind;
  dim: number;
  k: number;
  ids: string[];
  rows: Float32Array;
}

/** Reads and verifies everything common to saved banks: manifest, checksums, vector file. */
export function readBankFiles(dir: string, options: LoadOptions | undefined): LoadedBankFiles {
  const manifestFile = join(dir, MANIFEST);
  const { body, fileSha256 } = readManifest(manifestFile, BANK_FORMAT);
  const kind = body.kind;
  if (kind !== 'exact' && kind !== 'hnsw') throw new BankMismatchError(manifestFile, `unknown bank kind '${String(kind)}'`);
  if (options?.kind !== undefined && kind !== options.kind) throw new BankMismatchError(manifestFile, `holds a '${kind}' bank, expected '${options.kind}'`);
  if (body.metric !== 'cosine') throw new BankMismatchError(manifestFile, `metric '${String(body.metric)}' is not supported (only 'cosine')`);
  if (body.dtype !== 'float32-le') throw new BankMismatchError(manifestFile, `vector dtype '${String(body.dtype)}' is not supported (only 'float32-le')`);
  const dim = intField(body, 'dim', manifestFile, 1);
  if (options?.dim !== undefined && dim !== options.dim) {
    throw new BankMismatchError(manifestFile, `holds ${dim}-d vectors, expected ${options.dim}-d`);
  }
  const k = intField(body, 'k', manifestFile, 1);
  const count = intField(body, 'count', manifestFile, 0);
  const ids = stringArrayField(body, 'ids', manifestFile);
  if (ids.length !== count) throw new CorruptBankFileError(manifestFile, `lists ${ids.length} ids for ${count} vectors`);
  const entry = fileEntry(body, 'vectors', manifestFile);
  if (entry.bytes !== count * dim * 4) throw new CorruptBankFileError(manifestFile, `vector file size ${entry.bytes} does not fit ${count} x ${dim} float32`);
  const raw = readVerified(dir, entry, manifestFile);
  // Copy into a fresh, aligned buffer: a Buffer's byteOffset need not be a multiple of 4.
  const rows = new Float32Array(count * dim);
  new Uint8Array(rows.buffer).set(raw);
  return { body, manifestFile, manifestSha256: fileSha256, kind, dim, k, ids, rows };
}
