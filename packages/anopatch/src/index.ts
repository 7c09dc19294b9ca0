/** Public API of @anopatch/anopatch. */
export const packageName = '@anopatch/anopatch';

// model + training (issue #6)
export {
  CheckpointError,
  ModelConfigError,
  ModelStateError,
  OptimizerStateError,
  TrainConfigError,
  TrainDataError,
} from './errors.js';
export {
  BN_MOMENTUM,
  BN_NUM_BATCHES_TRACKED,
  HEAD_BUFFERS,
  HEAD_DEFAULTS,
  HEAD_PARAM,
  attentiveStatsPooling,
  clsPooling,
  headParamSpecs,
  poolAndProject,
  type HeadConfig,
  type PoolingKind,
  type PoolingOutput,
} from './pooling/head.js';
export {
  AnoPatchModel,
  BACKBONE_PREFIX,
  HEAD_PREFIX,
  resolveModelConfig,
  type AnoPatchModelConfig,
  type CreateModelOptions,
  type EmbedOptions,
  type FbankInput,
  type ClipInput,
  type ForwardResult,
  type ResolvedModelConfig,
} from './model/model.js';
export { MODEL_FORMAT, MODEL_JSON, MODEL_SAFETENSORS, loadModel, saveModel, type LoadedModel, type ModelFile } from './io/model-files.js';
export { writeFileAtomic, writeJsonAtomic } from './io/atomic.js';
export { ADAMW_DEFAULTS, AdamW, type AdamWConfig, type AdamWState } from './optim/adamw.js';
export { learningRate, validateSchedule, type LrDecay, type LrSchedule } from './optim/schedule.js';
export {
  PAPER_TRAIN_CONFIG,
  paperTrainConfig,
  resolveTrainConfig,
  validateTrainConfig,
  type TrainConfig,
  type TrainConfigOverrides,
} from './trainer/config.js';
export {
  EpochSampler,
  arrayClipSource,
  cropOrPad,
  cropSamplesFor,
  makeBatch,
  type BatchOptions,
  type ClipSource,
  type CropPadPolicy,
  type MicroBatch,
  type SamplerState,
  type TrainClip,
  type FbankTrainClip,
  type WaveformTrainClip,
} from './trainer/data.js';
export { RUN_JSON, TRAIN_LOG, train, type TrainOptions, type TrainProgress, type TrainResult } from './trainer/train.js';
export { formatProgress, progressPrinter, type ProgressPrinterOptions } from './trainer/progress.js';
export { ADACOS_CENTRES, ARCFACE_WEIGHT, createClassifier, type TrainClassifier } from './trainer/classifier.js';
export { measureTrainSpeed, type TrainSpeed, type TrainSpeedOptions } from './trainer/speed.js';
export {
  CHECKPOINTS_DIR,
  LATEST_JSON,
  latestCheckpoint,
  readCheckpoint,
  stepDirName,
  writeCheckpoint,
  type CheckpointContents,
  type TrainingState,
} from './checkpointing/checkpoint.js';
export { dcaseTrainingSet, type DcaseTrainingOptions, type DcaseTrainingSet } from './labels/dataset.js';

// embed / score pipeline (issue #9)
export * from './pipeline/index.js';
