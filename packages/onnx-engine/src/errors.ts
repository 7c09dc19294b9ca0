/** A parameter the model asked for is not among the weights given to the builder. */
export class MissingParameterError extends Error {
  constructor(readonly paramName: string, readonly source: string) {
    super(`${source}: parameter "${paramName}" is not in the weights; check that the checkpoint matches the model configuration`);
    this.name = 'MissingParameterError';
  }
}

/** An op was called with arguments the ONNX lowering cannot express (wrong rank, dtype, axis). */
export class OnnxLoweringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxLoweringError';
  }
}

/** An ONNX model file could not be read or ONNX Runtime refused to load it. */
export class OnnxModelLoadError extends Error {
  constructor(readonly path: string, reason: string) {
    super(`${path}: cannot load ONNX model: ${reason}`);
    this.name = 'OnnxModelLoadError';
  }
}

/** Inputs given to a session do not match the model's declared inputs. */
export class OnnxInputError extends Error {
  constructor(readonly model: string, reason: string) {
    super(`${model}: ${reason}`);
    this.name = 'OnnxInputError';
  }
}
