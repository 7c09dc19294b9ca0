/** The embed -> banks -> score -> official CSVs -> evaluate pipeline (used by the `anopatch` CLI). */
export { EmbeddingCache } from './cache.js';
export { buildDetector, groupOf, groupThreshold, type BankChoice, type Detector, type DetectorOptions, type ScoredClip } from './detect.js';
export {
  clipInfo,
  EMBEDDINGS_JSON,
  EMBEDDINGS_NPY,
  embedFiles,
  loadEmbeddingSet,
  saveEmbeddingSet,
  type EmbeddedClipInfo,
  type EmbeddingSet,
  type EmbedFilesOptions,
  type EmbedFilesResult,
} from './embed.js';
export { fbankStatsEmbedder, modelEmbedder, onnxModelEmbedder, type ClipEmbedder, type ModelEmbedderOptions, type OnnxEmbedderOptions } from './embedder.js';
export { checkInterrupted, DataDirError, InterruptedError, PipelineFileError } from './errors.js';
export { fileHash, modelHash, sha256Hex } from './hash.js';
export type { ProgressEvent, ProgressFn } from './progress.js';
export {
  embedSplit,
  runPipeline,
  scoreEmbeddingSet,
  type EmbedSplitOptions,
  type PipelineOptions,
  type PipelineResult,
  type ScoreSetOptions,
  type ScoreSetResult,
  type SplitRun,
} from './run.js';
