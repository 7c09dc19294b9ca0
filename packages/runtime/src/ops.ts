/**
 * The op interface models are written against (DESIGN.md "Two engines, one model definition").
 *
 * A model's forward pass is written once as calls on `Ops<T>`; `T` is the lowering's tensor handle:
 * a tf.Tensor for the TF.js lowering (eager, differentiable: training and the reference), a symbolic
 * value for the ONNX lowering (graph building, inference with onnxruntime-node).
 *
 * Rules that keep one definition valid for both lowerings:
 * - Layouts follow PyTorch so official state dicts load unchanged: `linear` takes W as [out, in];
 *   `conv1d` takes W as [out, in / groups, K] but activations are channels-last [B, T, C].
 * - Model code never reads concrete sizes of activations (the ONNX graph has a dynamic time axis):
 *   `reshape` uses 0 (copy that input dim) and -1 (infer) as ONNX does, `range` builds positions
 *   from an activation's length, and only parameter shapes (known statically) may be read.
 * - Elementwise ops broadcast like NumPy.
 */
export type OpDType = 'float32' | 'int32' | 'bool';

export interface Conv1dOptions {
  /** Channel groups (PyTorch `groups`). Default 1. */
  groups?: number;
  /** Zero padding added to both ends of the time axis (PyTorch `padding`). Default 0. */
  padding?: number;
  /** Bias [out]. */
  bias?: unknown;
}

export interface Ops<T> {
  /** 'tfjs' or 'onnx'; for diagnostics only, model code must not branch on it. */
  readonly kind: string;

  /** A model parameter by name (the model's own names; official names are mapped on load). */
  param(name: string): T;
  /**
   * Run `fn` and free every intermediate it created except what it returns (tf.tidy in TF.js; the
   * identity for a graph lowering). Model code wraps layers in it so a forward pass holds one layer's
   * intermediates at a time instead of the whole network's; gradients still flow through it.
   */
  scope<R extends T | T[]>(fn: () => R): R;
  /** The static shape of a parameter. */
  paramShape(name: string): readonly number[];
  /** A constant tensor. */
  constant(values: ArrayLike<number>, shape: readonly number[], dtype?: OpDType): T;
  scalar(value: number, dtype?: OpDType): T;

  // elementwise, NumPy broadcasting
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  maximum(a: T, b: T): T;
  minimum(a: T, b: T): T;
  /** x ** exponent with a constant exponent. */
  pow(x: T, exponent: number): T;
  neg(x: T): T;
  abs(x: T): T;
  exp(x: T): T;
  log(x: T): T;
  sqrt(x: T): T;
  floor(x: T): T;
  tanh(x: T): T;
  sigmoid(x: T): T;
  relu(x: T): T;
  /** The Gauss error function. */
  erf(x: T): T;
  /** Exact (erf) GELU, as PyTorch's default and BEATs' modules.gelu. */
  gelu(x: T): T;
  /** a > b, as a bool tensor. */
  greater(a: T, b: T): T;
  /** a < b, as a bool tensor. */
  less(a: T, b: T): T;
  where(condition: T, a: T, b: T): T;
  cast(x: T, dtype: OpDType): T;
  /**
   * Inverted dropout (zero with probability `rate`, scale the rest by 1 / (1 - rate)). Model code
   * calls it only when training; an inference-only lowering may implement it as the identity.
   */
  dropout(x: T, rate: number): T;
  /**
   * Identity in the forward pass; multiplies the gradient flowing back through it by `factor`
   * (fairseq's GradMultiply, e.g. BEATs' layer-wise gradient decay). Inference lowerings: identity.
   */
  gradScale(x: T, factor: number): T;

  // linear algebra
  /** Batched matrix product over the last two axes; leading axes broadcast. */
  matMul(a: T, b: T, options?: { transposeA?: boolean; transposeB?: boolean }): T;
  /** x W^T + b with W in PyTorch's [out, in] layout. */
  linear(x: T, weight: T, bias?: T): T;

  // reductions
  sum(x: T, axes: number | readonly number[], keepDims?: boolean): T;
  mean(x: T, axes: number | readonly number[], keepDims?: boolean): T;
  max(x: T, axes: number | readonly number[], keepDims?: boolean): T;
  softmax(x: T, axis?: number): T;
  /** LayerNorm over the last axis (biased variance, eps inside the sqrt). */
  layerNorm(x: T, gamma: T, beta: T, eps: number): T;

  // shape
  /** 0 copies the input's dim at that position, -1 is inferred (ONNX Reshape semantics). */
  reshape(x: T, shape: readonly number[]): T;
  transpose(x: T, perm: readonly number[]): T;
  /** Elements [start, end) of one axis; negative indices count from the end; end omitted = to the end. */
  slice(x: T, axis: number, start: number, end?: number): T;
  concat(xs: readonly T[], axis: number): T;
  /** Rows of `table` along `axis` picked by integer `indices` (result shape: indices' shape in place of that axis). */
  gather(table: T, indices: T, axis?: number): T;
  /**
   * Drop trailing elements of `axis` so its (possibly dynamic) length becomes a multiple of
   * `multiple` (what a strided patch convolution does to leftover frames).
   */
  truncateToMultiple(x: T, axis: number, multiple: number): T;
  /** int32 positions [0, n) where n is x's (possibly dynamic) length along `axis`. */
  range(x: T, axis: number): T;

  /** 1-D convolution on channels-last x [B, T, Cin] with W [Cout, Cin / groups, K] -> [B, T', Cout]. */
  conv1d(x: T, weight: T, options?: Conv1dOptions): T;
}

/** A model parameter's declaration: what `Ops.param(name)` will return, before weights exist. */
export interface ParamSpec {
  name: string;
  shape: readonly number[];
  /** How a fresh model initialises it when no checkpoint provides it. */
  init: ParamInit;
}

export type ParamInit =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'constant'; value: number }
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; bound: number }
  | { kind: 'xavierUniform'; gain?: number };

/** Plain tensor data moving between checkpoints, lowerings and files. */
export interface TensorData {
  shape: readonly number[];
  data: Float32Array;
}
