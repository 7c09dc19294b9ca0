/** Public API of @anopatch/knn-backend: cosine KNN memory banks and the paper's detectors. */
export const packageName = '@anopatch/knn-backend';

export type { BankKind, BankOptions, KnnBank, KnnSearchResult, LoadOptions, Metric, Neighbour, QueryScore, SearchOptions } from './bank.js';
export { ExactBank } from './exact.js';
export { HNSW_DEFAULTS, HnswBank, type HnswOptions } from './hnsw.js';
export {
  DOMAINS,
  DomainMinDetector,
  GroupedDetector,
  GroupedDomainMinDetector,
  groupKey,
  loadBank,
  type BankFactory,
  type Domain,
  type DomainScore,
} from './detectors.js';
export { FORMAT_VERSION, type SaveOptions } from './persist.js';
export type { Vector, Vectors } from './vectors.js';
export {
  BankExistsError,
  BankMismatchError,
  CorruptBankFileError,
  DimensionMismatchError,
  EmptyBankError,
  HnswUnavailableError,
  InvalidKnnParameterError,
  KnnError,
  NonFiniteVectorError,
  UnknownGroupError,
  ZeroVectorError,
} from './errors.js';
