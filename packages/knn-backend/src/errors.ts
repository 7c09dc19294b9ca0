/**
 * One class per failure kind, so callers (the CLI's error mapper, the pipeline) can branch on
 * `instanceof` instead of parsing messages. Every message names the bank/file and what to do.
 */
export class KnnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A vector's length differs from the bank's dimension (or a packed matrix is not a whole number of rows). */
export class DimensionMismatchError extends KnnError {
  constructor(
    readonly where: string,
    readonly expected: number,
    readonly actual: number,
    detail = '',
  ) {
    super(`${where}: expected vectors of dimension ${expected}, got ${actual}${detail}`);
  }
}

/** A vector holds NaN or +-Infinity; cosine distance is undefined for it. */
export class NonFiniteVectorError extends KnnError {
  constructor(
    readonly where: string,
    readonly row: number,
    readonly column: number,
    readonly value: number,
  ) {
    super(`${where}: row ${row} has a non-finite value (${value}) at component ${column}; check the embedding extraction for NaN/Inf`);
  }
}

/** An all-zero vector has no direction, so cosine distance to it is undefined. */
export class ZeroVectorError extends KnnError {
  constructor(
    readonly where: string,
    readonly row: number,
  ) {
    super(`${where}: row ${row} is the zero vector; cosine distance is undefined for it`);
  }
}

/** Searching a bank that holds no vectors. */
export class EmptyBankError extends KnnError {
  constructor(readonly where: string) {
    super(`${where}: the bank is empty; add normal training embeddings before scoring`);
  }
}

/** A bad parameter: k < 1, k larger than the bank, non-integer HNSW settings, ... */
export class InvalidKnnParameterError extends KnnError {}

/** Scoring a group (machine type/ID, type/section) that no bank was built for. */
export class UnknownGroupError extends KnnError {
  constructor(
    readonly group: string,
    readonly known: readonly string[],
  ) {
    const list = known.length === 0 ? 'none' : known.slice(0, 20).join(', ') + (known.length > 20 ? `, ... (${known.length} in all)` : '');
    super(`unknown group '${group}': no bank was built for it (known groups: ${list})`);
  }
}

/** hnswlib-node's native addon could not be loaded (not compiled for this Node). */
export class HnswUnavailableError extends KnnError {
  constructor(cause: unknown) {
    super(
      `hnswlib-node could not be loaded (${cause instanceof Error ? cause.message : String(cause)}); ` +
        'rebuild it with `npm run setup` or use ExactBank',
    );
  }
}

/** A saved bank/detector file is missing, truncated, unparsable or fails its checksum. */
export class CorruptBankFileError extends KnnError {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}; the saved bank is corrupt, rebuild it from the training embeddings`);
  }
}

/** A saved bank/detector is intact but not what was asked for: another format version, kind, metric or dimension. */
export class BankMismatchError extends KnnError {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** `save` into a directory that already holds a saved bank, without `overwrite: true`. */
export class BankExistsError extends KnnError {
  constructor(readonly file: string) {
    super(`${file}: a saved bank already exists here; pass { overwrite: true } to replace it`);
  }
}
