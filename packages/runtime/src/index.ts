export {
  BACKEND_ORDER,
  BackendUnavailableError,
  currentBackend,
  initBackend,
  isBackendName,
  missingNativeAddon,
  type BackendInfo,
  type BackendName,
  type InitBackendOptions,
} from './backend.js';
export type { Conv1dOptions, OpDType, Ops, ParamInit, ParamSpec, TensorData } from './ops.js';
export {
  createTfParams,
  fromTensorData,
  initParamData,
  MissingParamError,
  OpArgumentError,
  ParamShapeError,
  resolveReshape,
  SeededRandom,
  TfOps,
  toTensorData,
  type CreateTfParamsOptions,
} from './tfjs-ops.js';
