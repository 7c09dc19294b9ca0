/** Public API of @anopatch/onnx-engine: the ONNX lowering of the op interface and onnxruntime-node sessions. */
export const packageName = '@anopatch/onnx-engine';

export { MissingParameterError, OnnxInputError, OnnxLoweringError, OnnxModelLoadError } from './errors.js';
export {
  EXTERNAL_DATA_THRESHOLD,
  INT8_WEIGHT_MAX,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  OnnxGraphBuilder,
  type Dim,
  type OnnxGraphBuilderOptions,
  type OnnxValue,
  type SaveOptions,
} from './graph.js';
export { buildOnnxModel, type BuildOnnxModelOptions, type GraphInputSpec } from './build.js';
export {
  cudaProviderInstalled,
  getWarmSession,
  OnnxSession,
  releaseWarmSessions,
  type ExecutionProvider,
  type NamedTensor,
  type OnnxSessionOptions,
} from './session.js';
export { createOnnxEmbedder, type OnnxEmbedder, type OnnxEmbedderOptions } from './embedder.js';
