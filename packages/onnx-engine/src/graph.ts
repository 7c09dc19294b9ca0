import { basename, dirname, join } from 'node:path';

import { writeFileAtomic } from '@anopatch/checkpoint';
import type { Conv1dOptions, OpDType, Ops, TensorData } from '@anopatch/runtime';

import { MissingParameterError, OnnxLoweringError } from './errors.js';
import { AttrType, ElemType, onnx, type OnnxTypes } from './proto.js';

/** A dimension: a number when known while building, null when it depends on the input (dynamic). */
export type Dim = number | null;

/** A symbolic tensor in the graph being built. */
export interface OnnxValue {
  /** The ONNX value name (node output, initializer or graph input). */
  readonly name: string;
  readonly dtype: OpDType;
  /** Rank is always known; dims are known where the graph fixes them. */
  readonly shape: readonly Dim[];
}

/** The opset the lowering targets: LayerNormalization is native from 17. */
export const ONNX_OPSET = 17;
/** IR version 8 is what opset 17 requires and what onnx-proto's schema (ONNX 1.10) describes. */
export const ONNX_IR_VERSION = 8;

/** Protobuf messages cannot exceed 2 GiB; above this much weight data, initializers go to a side file. */
export const EXTERNAL_DATA_THRESHOLD = 2 ** 31 - 2 ** 26;

export interface OnnxGraphBuilderOptions {
  /** Parameter tensors by the model's own names (what `param(name)` returns). */
  weights: ReadonlyMap<string, TensorData>;
  /** Where the weights came from, for error messages. */
  source?: string;
  graphName?: string;
  /** Written into the model's metadata_props (e.g. backbone id and configuration). */
  metadata?: Record<string, string>;
  /**
   * 'int8': `linear` layers whose weight is a stored parameter with at least `minQuantizedFeatures`
   * inputs and outputs run as dynamically quantised int8 matmuls (weights 7-bit int8 per output channel,
   * activations uint8 per tensor at run time) — the pattern ONNX Runtime fuses into
   * DynamicQuantizeMatMul (VNNI on CPUs that have it). Default 'float32'.
   */
  linearPrecision?: 'float32' | 'int8';
  /** Smallest in/out feature count quantised in int8 mode (tiny projections stay float). Default 64. */
  minQuantizedFeatures?: number;
  /** In int8 mode, which weight parameters to quantise (default: all that qualify by size). */
  quantizeParam?: (name: string) => boolean;
}

export interface SaveOptions {
  /** Weight bytes above which initializers are written to `<file>.data` (ONNX external data). */
  externalDataThreshold?: number;
}

interface PendingInitializer {
  name: string;
  dtype: 'float32' | 'int32' | 'int64' | 'int8' | 'bool';
  shape: readonly number[];
  data: Float32Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;
}

type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'float'; value: number };

const ONNX_DTYPE: Record<OpDType, number> = { float32: ElemType.float32, int32: ElemType.int32, bool: ElemType.bool };
const INT64_MAX = 9223372036854775807n;
/**
 * Quantised weights use 7 bits ("reduce_range"): x86 u8 x s8 kernels without VNNI (AVX2) add pairs
 * of products in int16 with saturation, and 2 * 255 * 63 stays below 32767 where 2 * 255 * 127 does not.
 */
export const INT8_WEIGHT_MAX = 63;

function normAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new OnnxLoweringError(`${what}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function axesList(axes: number | readonly number[], rank: number, what: string): number[] {
  const list = typeof axes === 'number' ? [axes] : [...axes];
  return list.map((a) => normAxis(a, rank, what));
}

function broadcastShapes(a: readonly Dim[], b: readonly Dim[], what: string): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else if (da === null) out.push(db);
    else if (db === null) out.push(da);
    else if (da === db) out.push(da);
    else throw new OnnxLoweringError(`${what}: shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
  }
  return out;
}

function product(dims: readonly number[]): number {
  return dims.reduce((p, d) => p * d, 1);
}

function tensorBytes(t: PendingInitializer): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/**
 * The ONNX lowering of the op interface: each op call records ONNX nodes (opset 17) instead of
 * computing, parameters become initializers, and the result is a ModelProto that any ONNX Runtime
 * can run. Graph inputs may have dynamic dims (`null` or a symbolic name), so a model written
 * against `Ops` exports once for every clip length.
 */
export class OnnxGraphBuilder implements Ops<OnnxValue> {
  readonly kind = 'onnx';

  private readonly weights: ReadonlyMap<string, TensorData>;
  private readonly source: string;
  private readonly graphName: string;
  private readonly metadata: Record<string, string>;
  private readonly linearPrecision: 'float32' | 'int8';
  private readonly minQuantizedFeatures: number;
  private readonly quantizeParam: (name: string) => boolean;
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers = new Map<string, PendingInitializer>();
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly usedNames = new Set<string>();
  private readonly paramValues = new Map<string, OnnxValue>();
  /** Values that are a parameter as stored (so `linear` can pre-transpose the initializer). */
  private readonly paramOf = new Map<string, string>();
  private readonly constCache = new Map<string, OnnxValue>();
  /** How each single-output node was made, by its output name (for the peephole rewrites). */
  private readonly made = new Map<string, { op: string; inputs: readonly OnnxValue[]; attrs: Record<string, Attr> }>();
  private counter = 0;

  constructor(options: OnnxGraphBuilderOptions) {
    this.weights = options.weights;
    this.source = options.source ?? 'weights';
    this.graphName = options.graphName ?? 'anopatch';
    this.metadata = { ...(options.metadata ?? {}) };
    this.linearPrecision = options.linearPrecision ?? 'float32';
    this.minQuantizedFeatures = options.minQuantizedFeatures ?? 64;
    this.quantizeParam = options.quantizeParam ?? (() => true);
    if (this.linearPrecision !== 'float32') this.metadata.linear_precision = this.linearPrecision;
  }

  // ---------------------------------------------------------------- graph interface

  /** Declares a graph input; a dim given as a string (or null) is dynamic, e.g. ['batch', 'frames', 128]. */
  input(name: string, shape: readonly (number | string | null)[], dtype: OpDType = 'float32'): OnnxValue {
    this.claim(name);
    let anon = 0;
    this.inputs.push({
      name,
      type: {
        tensorType: {
          elemType: ONNX_DTYPE[dtype],
          shape: {
            dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d ?? `${name}_dim${anon++}` })),
          },
        },
      },
    });
    return { name, dtype, shape: shape.map((d) => (typeof d === 'number' ? d : null)) };
  }

  /** Marks `value` as a graph output under `name`. */
  output(value: OnnxValue, name: string): void {
    this.claim(name);
    this.nodes.push({ opType: 'Identity', input: [value.name], output: [name], name: `${name}_out` });
    this.outputs.push({
      name,
      type: {
        tensorType: {
          elemType: ONNX_DTYPE[value.dtype],
          shape: { dim: value.shape.map((d) => (d === null ? {} : { dimValue: d })) },
        },
      },
    });
  }

  setMetadata(key: string, value: string): void {
    this.metadata[key] = value;
  }

  /** Number of nodes the serialised graph will have (those the outputs depend on). */
  get nodeCount(): number {
    return this.liveNodes().length;
  }

  // ---------------------------------------------------------------- Ops: parameters and constants

  param(name: string): OnnxValue {
    const cached = this.paramValues.get(name);
    if (cached) return cached;
    const t = this.weights.get(name);
    if (!t) throw new MissingParameterError(name, this.source);
    if (t.data.length !== product(t.shape)) {
      throw new OnnxLoweringError(`${this.source}: parameter "${name}" has ${t.data.length} values for shape [${t.shape.join(',')}]`);
    }
    const value = this.addInitializer(name, 'float32', t.shape, t.data);
    this.paramValues.set(name, value);
    this.paramOf.set(value.name, name);
    return value;
  }

  /** A graph holds no memory while it is built: scopes only matter to eager lowerings. */
  scope<R extends OnnxValue | OnnxValue[]>(fn: () => R): R {
    return fn();
  }

  paramShape(name: string): readonly number[] {
    const t = this.weights.get(name);
    if (!t) throw new MissingParameterError(name, this.source);
    return t.shape;
  }

  constant(values: ArrayLike<number>, shape: readonly number[], dtype: OpDType = 'float32'): OnnxValue {
    if (values.length !== product(shape)) {
      throw new OnnxLoweringError(`constant: ${values.length} values for shape [${shape.join(',')}]`);
    }
    const small = values.length <= 16;
    const key = small ? `${dtype}|${shape.join(',')}|${Array.from(values).join(',')}` : '';
    if (small) {
      const hit = this.constCache.get(key);
      if (hit) return hit;
    }
    const data =
      dtype === 'float32' ? Float32Array.from(values) : dtype === 'int32' ? Int32Array.from(values) : Uint8Array.from(values, (v) => (v ? 1 : 0));
    const value = this.addInitializer(this.fresh('const'), dtype, shape, data);
    if (small) this.constCache.set(key, value);
    return value;
  }

  scalar(value: number, dtype: OpDType = 'float32'): OnnxValue {
    return this.constant([value], [], dtype);
  }

  // ---------------------------------------------------------------- Ops: elementwise

  add(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.binary('Add', a, b);
  }
  sub(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.binary('Sub', a, b);
  }
  mul(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.binary('Mul', a, b);
  }
  div(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.binary('Div', a, b);
  }
  maximum(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.binary('Max', a, b);
  }
  minimum(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.binary('Min', a, b);
  }
  pow(x: OnnxValue, exponent: number): OnnxValue {
    return this.emit('Pow', [this.requireFloat(x, 'pow'), this.scalar(exponent)], 'float32', x.shape);
  }
  neg(x: OnnxValue): OnnxValue {
    return this.unary('Neg', x);
  }
  abs(x: OnnxValue): OnnxValue {
    return this.unary('Abs', x);
  }
  exp(x: OnnxValue): OnnxValue {
    return this.unary('Exp', this.requireFloat(x, 'exp'));
  }
  log(x: OnnxValue): OnnxValue {
    return this.unary('Log', this.requireFloat(x, 'log'));
  }
  sqrt(x: OnnxValue): OnnxValue {
    return this.unary('Sqrt', this.requireFloat(x, 'sqrt'));
  }
  floor(x: OnnxValue): OnnxValue {
    return this.unary('Floor', this.requireFloat(x, 'floor'));
  }
  tanh(x: OnnxValue): OnnxValue {
    return this.unary('Tanh', this.requireFloat(x, 'tanh'));
  }
  sigmoid(x: OnnxValue): OnnxValue {
    return this.unary('Sigmoid', this.requireFloat(x, 'sigmoid'));
  }
  relu(x: OnnxValue): OnnxValue {
    return this.unary('Relu', x);
  }
  erf(x: OnnxValue): OnnxValue {
    return this.unary('Erf', this.requireFloat(x, 'erf'));
  }

  /** Gradients do not exist in an inference graph: the identity. */
  gradScale(x: OnnxValue, factor: number): OnnxValue {
    void factor;
    return x;
  }

  /** The exported graph is for inference, where dropout is the identity. */
  dropout(x: OnnxValue, rate: number): OnnxValue {
    void rate;
    return x;
  }

  /**
   * Exact GELU as 0.5 x (1 + erf(x / sqrt 2)). Opset 17 has no Gelu op; this exact node pattern is
   * the one ONNX Runtime's GeluFusion rewrites into its fused kernel.
   */
  gelu(x: OnnxValue): OnnxValue {
    this.requireFloat(x, 'gelu');
    const d = this.binary('Div', x, this.scalar(Math.SQRT2));
    const e = this.unary('Erf', d);
    const a = this.binary('Add', e, this.scalar(1));
    const m = this.binary('Mul', x, a);
    return this.binary('Mul', m, this.scalar(0.5));
  }

  greater(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.emit('Greater', [a, b], 'bool', broadcastShapes(a.shape, b.shape, 'greater'));
  }
  less(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.emit('Less', [a, b], 'bool', broadcastShapes(a.shape, b.shape, 'less'));
  }

  where(condition: OnnxValue, a: OnnxValue, b: OnnxValue): OnnxValue {
    if (condition.dtype !== 'bool') throw new OnnxLoweringError(`where: condition must be bool, got ${condition.dtype}`);
    const shape = broadcastShapes(broadcastShapes(condition.shape, a.shape, 'where'), b.shape, 'where');
    return this.emit('Where', [condition, a, b], a.dtype, shape);
  }

  cast(x: OnnxValue, dtype: OpDType): OnnxValue {
    if (x.dtype === dtype) return x;
    return this.emit('Cast', [x], dtype, x.shape, { to: { kind: 'int', value: ONNX_DTYPE[dtype] } });
  }

  // ---------------------------------------------------------------- Ops: linear algebra

  matMul(a: OnnxValue, b: OnnxValue, options: { transposeA?: boolean; transposeB?: boolean } = {}): OnnxValue {
    const ta = options.transposeA ? this.swapLast(a, 'matMul') : a;
    const tb = options.transposeB ? this.swapLast(b, 'matMul') : b;
    if (ta.shape.length < 2 || tb.shape.length < 2) {
      throw new OnnxLoweringError(`matMul: operands need rank >= 2, got ${ta.shape.length} and ${tb.shape.length}`);
    }
    const batch = broadcastShapes(ta.shape.slice(0, -2), tb.shape.slice(0, -2), 'matMul');
    return this.emit('MatMul', [ta, tb], 'float32', [...batch, ta.shape.at(-2)!, tb.shape.at(-1)!]);
  }

  linear(x: OnnxValue, weight: OnnxValue, bias?: OnnxValue): OnnxValue {
    if (weight.shape.length !== 2) throw new OnnxLoweringError(`linear: weight must be [out, in], got rank ${weight.shape.length}`);
    const param = this.paramOf.get(weight.name);
    const [out, inn] = weight.shape as [number, number];
    const outShape = [...x.shape.slice(0, -1), out];
    let y: OnnxValue;
    if (this.linearPrecision === 'int8' && param !== undefined && Math.min(out, inn) >= this.minQuantizedFeatures && this.quantizeParam(param)) {
      y = this.quantizedMatMul(x, param, outShape);
    } else {
      y = this.emit('MatMul', [x, this.transposedWeight(weight)], 'float32', outShape);
    }
    return bias ? this.add(y, bias) : y;
  }

  /**
   * x W^T with W quantised symmetrically per output channel to int8 and x quantised per tensor to
   * uint8 at run time, in exactly the node pattern onnxruntime.quantization.quantize_dynamic writes
   * (DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul by x_scale * w_scale), which ORT fuses.
   */
  private quantizedMatMul(x: OnnxValue, param: string, outShape: Dim[]): OnnxValue {
    const t = this.weights.get(param)!;
    const [out, inn] = t.shape as [number, number];
    const qName = `${param}::int8T`;
    if (!this.initializers.has(qName)) {
      const q = new Int8Array(out * inn);
      const scale = new Float32Array(out);
      for (let o = 0; o < out; o++) {
        let m = 0;
        for (let i = 0; i < inn; i++) m = Math.max(m, Math.abs(t.data[o * inn + i]!));
        const s = m > 0 ? m / INT8_WEIGHT_MAX : 1;
        scale[o] = s;
        for (let i = 0; i < inn; i++) q[i * out + o] = Math.max(-INT8_WEIGHT_MAX, Math.min(INT8_WEIGHT_MAX, Math.round(t.data[o * inn + i]! / s)));
      }
      this.addInitializer(qName, 'int8', [inn, out], q);
      this.addInitializer(`${param}::scale`, 'float32', [out], scale);
      this.addInitializer(`${param}::zero`, 'int8', [out], new Int8Array(out));
    }
    const base = this.fresh('dql');
    const xq = `${base}_q`;
    const xs = `${base}_scale`;
    const xz = `${base}_zero`;
    for (const n of [xq, xs, xz]) this.claim(n);
    this.nodes.push({ opType: 'DynamicQuantizeLinear', name: base, input: [x.name], output: [xq, xs, xz] });
    const ref = (name: string, shape: Dim[]): OnnxValue => ({ name, dtype: 'int32', shape });
    const wq = ref(qName, [inn, out]);
    const mm = this.emit('MatMulInteger', [ref(xq, x.shape.slice()), wq, ref(xz, []), ref(`${param}::zero`, [out])], 'int32', outShape);
    const f = this.emit('Cast', [mm], 'float32', outShape, { to: { kind: 'int', value: ElemType.float32 } });
    const scale = this.emit('Mul', [ref(xs, []), { name: `${param}::scale`, dtype: 'float32', shape: [out] }], 'float32', [out]);
    return this.emit('Mul', [f, scale], 'float32', outShape);
  }

  // ---------------------------------------------------------------- Ops: reductions

  sum(x: OnnxValue, axes: number | readonly number[], keepDims = false): OnnxValue {
    const list = axesList(axes, x.shape.length, 'sum');
    const axesValue = this.int64Constant(list);
    return this.emit('ReduceSum', [x, axesValue], x.dtype, this.reducedShape(x.shape, list, keepDims), {
      keepdims: { kind: 'int', value: keepDims ? 1 : 0 },
    });
  }

  mean(x: OnnxValue, axes: number | readonly number[], keepDims = false): OnnxValue {
    const list = axesList(axes, x.shape.length, 'mean');
    return this.emit('ReduceMean', [x], x.dtype, this.reducedShape(x.shape, list, keepDims), {
      axes: { kind: 'ints', value: list },
      keepdims: { kind: 'int', value: keepDims ? 1 : 0 },
    });
  }

  max(x: OnnxValue, axes: number | readonly number[], keepDims = false): OnnxValue {
    const list = axesList(axes, x.shape.length, 'max');
    return this.emit('ReduceMax', [x], x.dtype, this.reducedShape(x.shape, list, keepDims), {
      axes: { kind: 'ints', value: list },
      keepdims: { kind: 'int', value: keepDims ? 1 : 0 },
    });
  }

  softmax(x: OnnxValue, axis = -1): OnnxValue {
    const a = normAxis(axis, x.shape.length, 'softmax');
    return this.emit('Softmax', [this.withoutMaxShift(x, a)], 'float32', x.shape, { axis: { kind: 'int', value: a } });
  }

  /**
   * softmax(c (s - max(s)) + b) = softmax(c s + b) when the max is taken over the softmax axis (it
   * is constant along it), and ONNX Runtime's Softmax subtracts the row max itself. Models written
   * for fp16 range (BEATs' attention) subtract it explicitly; dropping that saves a ReduceMax and a
   * Sub over every [B, H, P, P] score tensor. The nodes left unused are pruned on serialisation.
   */
  private withoutMaxShift(x: OnnxValue, axis: number): OnnxValue {
    const isMaxShift = (v: OnnxValue): OnnxValue | null => {
      const sub = this.made.get(v.name);
      if (sub?.op !== 'Sub') return null;
      const [s, r] = sub.inputs as [OnnxValue, OnnxValue];
      const red = this.made.get(r.name);
      if (red?.op !== 'ReduceMax' || red.inputs[0]!.name !== s.name) return null;
      const axes = red.attrs.axes;
      const keep = red.attrs.keepdims;
      if (axes?.kind !== 'ints' || axes.value.length !== 1 || axes.value[0] !== axis || keep?.kind !== 'int' || keep.value !== 1) return null;
      return s;
    };
    const isScalarConst = (v: OnnxValue) => this.initializers.has(v.name) && v.shape.length === 0 && v.dtype === 'float32';
    // scaled: Mul(shift, c) or Mul(c, shift) with a scalar constant c
    const unshift = (v: OnnxValue): OnnxValue | null => {
      const direct = isMaxShift(v);
      if (direct) return direct;
      const mul = this.made.get(v.name);
      if (mul?.op !== 'Mul') return null;
      const [p, q] = mul.inputs as [OnnxValue, OnnxValue];
      const [inner, c] = isScalarConst(q) ? [p, q] : isScalarConst(p) ? [q, p] : [null, null];
      if (!inner || !c) return null;
      const s = isMaxShift(inner);
      return s ? this.binary('Mul', s, c) : null;
    };
    const plain = unshift(x);
    if (plain) return plain;
    const add = this.made.get(x.name);
    if (add?.op !== 'Add') return x;
    const [p, q] = add.inputs as [OnnxValue, OnnxValue];
    const up = unshift(p);
    if (up && broadcastShapes(up.shape, q.shape, 'softmax').length === x.shape.length) return this.binary('Add', up, q);
    const uq = unshift(q);
    if (uq && broadcastShapes(p.shape, uq.shape, 'softmax').length === x.shape.length) return this.binary('Add', p, uq);
    return x;
  }

  layerNorm(x: OnnxValue, gamma: OnnxValue, beta: OnnxValue, eps: number): OnnxValue {
    return this.emit('LayerNormalization', [x, gamma, beta], 'float32', x.shape, {
      axis: { kind: 'int', value: -1 },
      epsilon: { kind: 'float', value: eps },
    });
  }

  // ---------------------------------------------------------------- Ops: shape

  reshape(x: OnnxValue, shape: readonly number[]): OnnxValue {
    const out: Dim[] = shape.map((d, i) => {
      if (d === 0) {
        if (i >= x.shape.length) throw new OnnxLoweringError(`reshape: 0 at position ${i} but input has rank ${x.shape.length}`);
        return x.shape[i]!;
      }
      return d === -1 ? null : d;
    });
    const inferAt = shape.indexOf(-1);
    const known = (ds: readonly Dim[]): ds is number[] => ds.every((d) => d !== null);
    const others = out.filter((_, i) => i !== inferAt);
    if (inferAt >= 0 && known(x.shape) && known(others)) out[inferAt] = product(x.shape) / product(others);
    return this.emit('Reshape', [x, this.int64Constant(shape)], x.dtype, out);
  }

  transpose(x: OnnxValue, perm: readonly number[]): OnnxValue {
    if (perm.length !== x.shape.length) throw new OnnxLoweringError(`transpose: perm of length ${perm.length} for rank ${x.shape.length}`);
    return this.emit('Transpose', [x], x.dtype, perm.map((p) => x.shape[p]!), { perm: { kind: 'ints', value: perm } });
  }

  slice(x: OnnxValue, axis: number, start: number, end?: number): OnnxValue {
    const a = normAxis(axis, x.shape.length, 'slice');
    const dim = x.shape[a]!;
    let outDim: Dim = null;
    if (dim !== null) {
      const s = Math.min(Math.max(start < 0 ? start + dim : start, 0), dim);
      const e = end === undefined ? dim : Math.min(Math.max(end < 0 ? end + dim : end, 0), dim);
      outDim = Math.max(e - s, 0);
    }
    const shape = x.shape.map((d, i) => (i === a ? outDim : d));
    const ends = end === undefined ? this.int64ConstantBig([INT64_MAX]) : this.int64Constant([end]);
    return this.emit('Slice', [x, this.int64Constant([start]), ends, this.int64Constant([a])], x.dtype, shape);
  }

  concat(xs: readonly OnnxValue[], axis: number): OnnxValue {
    const first = xs[0];
    if (!first) throw new OnnxLoweringError('concat: no inputs');
    const a = normAxis(axis, first.shape.length, 'concat');
    let total: Dim = 0;
    for (const v of xs) total = total === null || v.shape[a] === null ? null : total + v.shape[a]!;
    const shape = first.shape.map((d, i) => (i === a ? total : d));
    return this.emit('Concat', xs, first.dtype, shape, { axis: { kind: 'int', value: a } });
  }

  gather(table: OnnxValue, indices: OnnxValue, axis = 0): OnnxValue {
    const a = normAxis(axis, table.shape.length, 'gather');
    if (indices.dtype !== 'int32') throw new OnnxLoweringError(`gather: indices must be int32, got ${indices.dtype}`);
    const shape = [...table.shape.slice(0, a), ...indices.shape, ...table.shape.slice(a + 1)];
    return this.emit('Gather', [table, indices], table.dtype, shape, { axis: { kind: 'int', value: a } });
  }

  truncateToMultiple(x: OnnxValue, axis: number, multiple: number): OnnxValue {
    const a = normAxis(axis, x.shape.length, 'truncateToMultiple');
    if (!Number.isInteger(multiple) || multiple < 1) throw new OnnxLoweringError(`truncateToMultiple: multiple must be a positive integer, got ${multiple}`);
    const shape = x.shape.map((d, i) => (i === a ? (d === null ? null : Math.floor(d / multiple) * multiple) : d));
    // int64 shape arithmetic: n - n mod m (Shape gives int64; Div on integers truncates).
    const n = this.emit('Shape', [x], 'int32', [1], { start: { kind: 'int', value: a }, end: { kind: 'int', value: a + 1 } });
    const m = this.int64Constant([multiple]);
    const end = this.emit('Mul', [this.emit('Div', [n, m], 'int32', [1]), m], 'int32', [1]);
    return this.emit('Slice', [x, this.int64Constant([0]), end, this.int64Constant([a])], x.dtype, shape);
  }

  range(x: OnnxValue, axis: number): OnnxValue {
    const a = normAxis(axis, x.shape.length, 'range');
    const n64 = this.emit('Shape', [x], 'int32', [1], { start: { kind: 'int', value: a }, end: { kind: 'int', value: a + 1 } });
    // Shape yields int64; cast before Squeeze so every value this builder tracks has an OpDType.
    const n1 = this.emit('Cast', [n64], 'int32', [1], { to: { kind: 'int', value: ElemType.int32 } });
    const n = this.emit('Squeeze', [n1, this.int64Constant([0])], 'int32', []);
    return this.emit('Range', [this.scalar(0, 'int32'), n, this.scalar(1, 'int32')], 'int32', [x.shape[a]!]);
  }

  conv1d(x: OnnxValue, weight: OnnxValue, options: Conv1dOptions = {}): OnnxValue {
    if (x.shape.length !== 3) throw new OnnxLoweringError(`conv1d: input must be [B, T, C], got rank ${x.shape.length}`);
    if (weight.shape.length !== 3) throw new OnnxLoweringError(`conv1d: weight must be [out, in/groups, K], got rank ${weight.shape.length}`);
    const groups = options.groups ?? 1;
    const padding = options.padding ?? 0;
    const [cout, , k] = weight.shape;
    const xt = this.transpose(x, [0, 2, 1]);
    const inputs = [xt, weight];
    if (options.bias !== undefined) inputs.push(options.bias as OnnxValue);
    const t = x.shape[1]!;
    const tOut = t === null || k === null || k === undefined ? null : t + 2 * padding - k + 1;
    const attrs: Record<string, Attr> = {
      group: { kind: 'int', value: groups },
      pads: { kind: 'ints', value: [padding, padding] },
      strides: { kind: 'ints', value: [1] },
      dilations: { kind: 'ints', value: [1] },
    };
    if (typeof k === 'number') attrs.kernel_shape = { kind: 'ints', value: [k] };
    const y = this.emit('Conv', inputs, 'float32', [x.shape[0]!, cout ?? null, tOut], attrs);
    return this.transpose(y, [0, 2, 1]);
  }

  // ---------------------------------------------------------------- serialisation

  /** The model as an ONNX ModelProto message (initializers inline). */
  toModelProto(): OnnxTypes.ModelProto {
    return this.buildModel(null);
  }

  /** Serialised model bytes (initializers inline; fails past protobuf's 2 GiB limit). */
  toBytes(): Uint8Array {
    return onnx.ModelProto.encode(this.toModelProto()).finish();
  }

  /** Total bytes of the initializers the graph references. */
  weightBytes(): number {
    let n = 0;
    for (const t of this.referencedInitializers()) n += t.data.byteLength;
    return n;
  }

  /**
   * Writes the model to `path` atomically (temp file + rename). Past the threshold (default just
   * under 2 GiB) the initializers go to `<basename>.data` beside it as ONNX external data.
   * Returns the files written.
   */
  save(path: string, options: SaveOptions = {}): string[] {
    const threshold = options.externalDataThreshold ?? EXTERNAL_DATA_THRESHOLD;
    const written: string[] = [];
    let model: OnnxTypes.ModelProto;
    if (this.weightBytes() > threshold) {
      const dataName = `${basename(path)}.data`;
      const dataPath = join(dirname(path), dataName);
      const offsets = new Map<string, { offset: number; length: number }>();
      writeFileAtomic(dataPath, (write) => {
        let offset = 0;
        for (const t of this.referencedInitializers()) {
          // 64-byte alignment lets runtimes memory-map the tensors.
          const pad = (64 - (offset % 64)) % 64;
          if (pad) write(new Uint8Array(pad));
          offset += pad;
          const bytes = tensorBytes(t);
          write(bytes);
          offsets.set(t.name, { offset, length: bytes.byteLength });
          offset += bytes.byteLength;
        }
      });
      written.push(dataPath);
      model = this.buildModel({ location: dataName, offsets });
    } else {
      model = this.toModelProto();
    }
    const bytes = onnx.ModelProto.encode(model).finish();
    writeFileAtomic(path, bytes);
    written.unshift(path);
    return written;
  }

  // ---------------------------------------------------------------- internals

  private buildModel(external: { location: string; offsets: Map<string, { offset: number; length: number }> } | null): OnnxTypes.ModelProto {
    const initializer: OnnxTypes.ITensorProto[] = [];
    for (const t of this.referencedInitializers()) {
      const base: OnnxTypes.ITensorProto = {
        name: t.name,
        dims: [...t.shape],
        dataType: ElemType[t.dtype],
      };
      const ext = external?.offsets.get(t.name);
      if (external && ext) {
        initializer.push({
          ...base,
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: external.location },
            { key: 'offset', value: String(ext.offset) },
            { key: 'length', value: String(ext.length) },
          ],
        });
      } else {
        initializer.push({ ...base, rawData: tensorBytes(t) });
      }
    }
    return onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      producerName: '@anopatch/onnx-engine',
      producerVersion: '0.1.0',
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      metadataProps: Object.entries(this.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.graphName,
        node: this.liveNodes(),
        initializer,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }

  /** Initializers some node consumes, in creation order: a parameter only used pre-transposed is not stored twice. */
  private referencedInitializers(): PendingInitializer[] {
    const used = new Set<string>();
    for (const n of this.liveNodes()) for (const i of n.input ?? []) used.add(i);
    return [...this.initializers.values()].filter((t) => used.has(t.name));
  }

  /** Nodes the graph outputs depend on, in recording (hence topological) order. */
  private liveNodes(): OnnxTypes.INodeProto[] {
    const producer = new Map<string, number>();
    this.nodes.forEach((n, i) => {
      for (const o of n.output ?? []) producer.set(o, i);
    });
    const live = new Set<number>();
    const stack = this.outputs.map((o) => o.name ?? '');
    while (stack.length) {
      const i = producer.get(stack.pop()!);
      if (i === undefined || live.has(i)) continue;
      live.add(i);
      for (const input of this.nodes[i]!.input ?? []) stack.push(input);
    }
    return this.nodes.filter((_, i) => live.has(i));
  }

  private claim(name: string): void {
    if (this.usedNames.has(name)) throw new OnnxLoweringError(`name "${name}" is used twice in the graph`);
    this.usedNames.add(name);
  }

  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.usedNames.has(name));
    this.usedNames.add(name);
    return name;
  }

  private addInitializer(
    name: string,
    dtype: PendingInitializer['dtype'],
    shape: readonly number[],
    data: PendingInitializer['data'],
  ): OnnxValue {
    if (!this.usedNames.has(name)) this.claim(name);
    this.initializers.set(name, { name, dtype, shape: [...shape], data });
    // int64 / int8 initializers are internal (shape operands, quantised weights); model code never sees them.
    return { name, dtype: dtype === 'int64' || dtype === 'int8' ? 'int32' : dtype, shape: [...shape] };
  }

  private int64Constant(values: readonly number[]): OnnxValue {
    return this.int64ConstantBig(values.map((v) => BigInt(v)));
  }

  private int64ConstantBig(values: readonly bigint[]): OnnxValue {
    const key = `int64|${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const value = this.addInitializer(this.fresh('i64'), 'int64', [values.length], BigInt64Array.from(values));
    this.constCache.set(key, value);
    return value;
  }

  /** W^T for `linear`: a stored parameter is transposed once at build time, anything else in-graph. */
  private transposedWeight(weight: OnnxValue): OnnxValue {
    const param = this.paramOf.get(weight.name);
    if (param === undefined) return this.transpose(weight, [1, 0]);
    const name = `${param}::T`;
    const existing = this.initializers.get(name);
    if (existing) return { name, dtype: 'float32', shape: [...existing.shape] };
    const t = this.weights.get(param)!;
    const [out, inn] = t.shape as [number, number];
    const data = new Float32Array(out * inn);
    for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) data[i * out + o] = t.data[o * inn + i]!;
    return this.addInitializer(name, 'float32', [inn, out], data);
  }

  private swapLast(x: OnnxValue, what: string): OnnxValue {
    const r = x.shape.length;
    if (r < 2) throw new OnnxLoweringError(`${what}: cannot transpose a rank-${r} operand`);
    const perm = [...Array(r).keys()];
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
    return this.transpose(x, perm);
  }

  private reducedShape(shape: readonly Dim[], axes: readonly number[], keepDims: boolean): Dim[] {
    const out: Dim[] = [];
    shape.forEach((d, i) => {
      if (!axes.includes(i)) out.push(d);
      else if (keepDims) out.push(1);
    });
    return out;
  }

  private requireFloat(x: OnnxValue, what: string): OnnxValue {
    if (x.dtype !== 'float32') throw new OnnxLoweringError(`${what}: needs a float32 input, got ${x.dtype}`);
    return x;
  }

  private unary(op: string, x: OnnxValue): OnnxValue {
    return this.emit(op, [x], x.dtype, x.shape);
  }

  private binary(op: string, a: OnnxValue, b: OnnxValue): OnnxValue {
    if (a.dtype !== b.dtype) throw new OnnxLoweringError(`${op}: operand dtypes differ (${a.dtype} vs ${b.dtype}); cast first`);
    return this.emit(op, [a, b], a.dtype, broadcastShapes(a.shape, b.shape, op));
  }

  private emit(op: string, inputs: readonly OnnxValue[], dtype: OpDType, shape: readonly Dim[], attrs: Record<string, Attr> = {}): OnnxValue {
    const name = this.fresh(op.toLowerCase());
    this.made.set(name, { op, inputs, attrs });
    this.nodes.push({
      opType: op,
      name,
      input: inputs.map((v) => v.name),
      output: [name],
      attribute: Object.entries(attrs).map(([attrName, a]) => {
        if (a.kind === 'int') return { name: attrName, type: AttrType.INT, i: a.value };
        if (a.kind === 'float') return { name: attrName, type: AttrType.FLOAT, f: a.value };
        return { name: attrName, type: AttrType.INTS, ints: [...a.value] };
      }),
    });
    return { name, dtype, shape: [...shape] };
  }
}
