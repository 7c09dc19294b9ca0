export { encodeNpy, NpyFormatError, readNpy, type NpyArray, type NpyData, type NpyDtype } from './npy.js';
export {
  CheckpointConfigError,
  CheckpointNotFoundError,
  LegacyTorchFormatError,
  PickleFormatError,
  SafetensorsFormatError,
  StateDictMismatchError,
  StateDictPathError,
  StorageTruncatedError,
  TensorLayoutError,
  TorchScriptArchiveError,
  UnknownCheckpointFormatError,
  UnsafePickleError,
  UnsupportedDtypeError,
  ZipFormatError,
} from './errors.js';
export {
  bfloat16ToFloat32,
  DTYPE_BYTES,
  halfToFloat32,
  numelOf,
  toFloat32,
  type TensorData,
  type TensorDtype,
  type TensorRecord,
} from './tensor.js';
export {
  detectFormat,
  inspectCheckpoint,
  readTorchCheckpoint,
  type CheckpointContents,
  type CheckpointFormat,
  type CheckpointInfo,
  type DetectedFormat,
  type MetaValue,
  type ReadCheckpointOptions,
  type TensorInfo,
  type TorchCheckpoint,
} from './torch.js';
export {
  encodeSafetensors,
  MAX_SAFETENSORS_HEADER,
  readSafetensors,
  writeSafetensors,
  type ReadSafetensorsOptions,
  type SafetensorsFile,
} from './safetensors.js';
export {
  assertMappingComplete,
  formatMappingReport,
  permute,
  StateDictMapper,
  transpose2d,
  type ExpectedShapes,
  type MapOptions,
  type MappingReport,
  type RenameRule,
  type ShapeMismatch,
  type StateDictMapperOptions,
} from './mapper.js';
export { type CheckpointInput } from './source.js';
export { measureCheckpointLoad, writeSyntheticCheckpoint, type CheckpointLoadMeasurement } from './measure.js';
export { writeTorchCheckpoint, type TorchValue, type WriteTorchOptions } from './torchwrite.js';
export { writeFileAtomic, writeJsonAtomic, type AtomicContent } from './atomic.js';
