import * as tf from '@tensorflow/tfjs-core';

import './gradients.js';

import type { Conv1dOptions, OpDType, Ops, ParamInit, ParamSpec, TensorData } from './ops.js';

/** `Ops.param(name)` asked for a parameter the lowering was not given. */
export class MissingParamError extends Error {
  override name = 'MissingParamError';
  constructor(readonly param: string) {
    super(`model parameter '${param}' is missing: it was neither loaded nor created from the model's ParamSpecs`);
  }
}

/** Loaded data for a parameter does not have the shape its ParamSpec declares. */
export class ParamShapeError extends Error {
  override name = 'ParamShapeError';
  constructor(
    readonly param: string,
    readonly expected: readonly number[],
    readonly actual: readonly number[],
  ) {
    super(`model parameter '${param}' has shape [${actual.join(', ')}], expected [${expected.join(', ')}]`);
  }
}

/** An op was called with arguments the op interface does not allow (a bug in model code). */
export class OpArgumentError extends Error {
  override name = 'OpArgumentError';
}

type Params = ReadonlyMap<string, tf.Tensor>;

function axesOf(axes: number | readonly number[]): number[] {
  return typeof axes === 'number' ? [axes] : [...axes];
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new OpArgumentError(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/**
 * The TF.js lowering of `Ops`: eager tf.Tensors, differentiable on every backend we run on.
 *
 * wasm lacks a few backward kernels (Conv2DBackpropFilter, UnsortedSegmentSum), so `conv1d` and
 * `gather` carry their own gradients written with forward kernels every backend has. Callers own
 * memory: run a forward pass inside `tf.tidy` (parameters are not disposed by it).
 */
export class TfOps implements Ops<tf.Tensor> {
  readonly kind = 'tfjs';
  private readonly params: Params;
  /**
   * Uniform [0, 1) source of dropout masks. When set, each `dropout` call draws its mask seed from
   * it, so a caller that seeds (and checkpoints) this source replays the same masks; unset, masks
   * come from TF.js's unseeded generator.
   */
  random: (() => number) | undefined;

  constructor(params: ReadonlyMap<string, tf.Tensor | tf.Variable>, options: { random?: () => number } = {}) {
    this.params = params;
    this.random = options.random;
  }

  param(name: string): tf.Tensor {
    const p = this.params.get(name);
    if (!p) throw new MissingParamError(name);
    return p;
  }
  scope<R extends tf.Tensor | tf.Tensor[]>(fn: () => R): R {
    return tf.tidy(fn);
  }
  paramShape(name: string): readonly number[] {
    return this.param(name).shape;
  }
  constant(values: ArrayLike<number>, shape: readonly number[], dtype: OpDType = 'float32'): tf.Tensor {
    if (dtype === 'bool') return tf.tensor(Array.from(values, (v) => v !== 0), [...shape], 'bool');
    return tf.tensor(Array.from(values), [...shape], dtype);
  }
  scalar(value: number, dtype: OpDType = 'float32'): tf.Tensor {
    return dtype === 'bool' ? tf.scalar(value !== 0, 'bool') : tf.scalar(value, dtype);
  }

  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.add(a, b);
  }
  sub(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.sub(a, b);
  }
  mul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.mul(a, b);
  }
  div(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.div(a, b);
  }
  maximum(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.maximum(a, b);
  }
  minimum(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.minimum(a, b);
  }
  pow(x: tf.Tensor, exponent: number): tf.Tensor {
    return tf.pow(x, tf.scalar(exponent));
  }
  neg(x: tf.Tensor): tf.Tensor {
    return tf.neg(x);
  }
  abs(x: tf.Tensor): tf.Tensor {
    return tf.abs(x);
  }
  exp(x: tf.Tensor): tf.Tensor {
    return tf.exp(x);
  }
  log(x: tf.Tensor): tf.Tensor {
    return tf.log(x);
  }
  sqrt(x: tf.Tensor): tf.Tensor {
    return tf.sqrt(x);
  }
  floor(x: tf.Tensor): tf.Tensor {
    return tf.floor(x);
  }
  tanh(x: tf.Tensor): tf.Tensor {
    return tf.tanh(x);
  }
  sigmoid(x: tf.Tensor): tf.Tensor {
    return tf.sigmoid(x);
  }
  relu(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
  erf(x: tf.Tensor): tf.Tensor {
    return tf.erf(x);
  }
  gelu(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
  }
  greater(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return comparison(tf.greater, a, b);
  }
  less(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return comparison(tf.less, a, b);
  }
  where(condition: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    const shape = tf.broadcast_util.assertAndGetBroadcastShape(
      tf.broadcast_util.assertAndGetBroadcastShape(condition.shape, a.shape),
      b.shape,
    );
    const bc = (t: tf.Tensor) => (sameShape(t.shape, shape) ? t : tf.broadcastTo(t, shape));
    return tf.where(bc(condition), bc(a), bc(b));
  }
  cast(x: tf.Tensor, dtype: OpDType): tf.Tensor {
    return tf.cast(x, dtype);
  }
  dropout(x: tf.Tensor, rate: number): tf.Tensor {
    if (rate <= 0) return x;
    // one draw per call, whatever the tensor size: the source advances the same on every backend
    return this.random ? tf.dropout(x, rate, undefined, Math.floor(this.random() * 2 ** 31)) : tf.dropout(x, rate);
  }
  gradScale(x: tf.Tensor, factor: number): tf.Tensor {
    if (factor === 1) return x;
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const t = args[0] as tf.Tensor;
      return { value: tf.clone(t), gradFunc: (dy: tf.Tensor) => tf.mul(dy, factor) };
    });
    return f(x);
  }

  matMul(a: tf.Tensor, b: tf.Tensor, options: { transposeA?: boolean; transposeB?: boolean } = {}): tf.Tensor {
    const ta = options.transposeA ?? false;
    const tb = options.transposeB ?? false;
    if (tf.getBackend() !== 'wasm') {
      // BatchMatMul's gradient does not reduce broadcast batch axes; broadcastTo's does
      if (sameShape(a.shape.slice(0, -2), b.shape.slice(0, -2))) return tf.matMul(a, b, ta, tb);
      const batch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      const full = (t: tf.Tensor) => (sameShape(t.shape.slice(0, -2), batch) ? t : tf.broadcastTo(t, [...batch, ...t.shape.slice(-2)]));
      return tf.matMul(full(a), full(b), ta, tb);
    }
    // wasm runs only the plain 2-D product on XNNPACK; transposed or batched operands take a scalar
    // loop 5-10x slower, so transpose explicitly and split the batch into 2-D products
    const a2 = ta ? tf.transpose(a, swapLast(a.rank)) : a;
    const b2 = tb ? tf.transpose(b, swapLast(b.rank)) : b;
    if (a2.rank === 2 && b2.rank === 2) return tf.matMul(a2, b2);
    const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(a2.shape.slice(0, -2), b2.shape.slice(0, -2));
    const [m, k] = a2.shape.slice(-2) as [number, number];
    const n = b2.shape[b2.rank - 1]!;
    const count = outBatch.reduce((x, y) => x * y, 1);
    const flat = (t: tf.Tensor, rows: number, cols: number) =>
      splitRows(tf.reshape(sameShape(t.shape.slice(0, -2), outBatch) ? t : tf.broadcastTo(t, [...outBatch, rows, cols]), [count, rows * cols])).map((r) => tf.reshape(r, [rows, cols]));
    const as = flat(a2, m, k);
    // a right operand shared by the whole batch stays one tensor (XNNPACK packs it once)
    const shared = b2.rank === 2;
    const bs = shared ? [] : flat(b2, k, n);
    const outs = as.map((ai, i) => tf.matMul(ai, shared ? b2 : bs[i]!));
    return tf.reshape(tf.stack(outs), [...outBatch, m, n]);
  }
  linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
    // one 2-D GEMM against W^T [in, out]; no fused bias: wasm's _FusedMatMul adds the bias by row when transposeB is set
    const inDim = weight.shape[1]!;
    const outShape = [...x.shape.slice(0, -1), weight.shape[0]];
    const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, inDim]);
    const y = tf.matMul(x2, this.transposed(weight));
    const yb = bias ? tf.add(y, bias) : y;
    return x.rank === 2 ? yb : tf.reshape(yb, outShape);
  }

  /**
   * W^T of a weight. Frozen parameters (plain tensors, non-trainable variables) keep one W^T for
   * their lifetime, which also lets wasm's XNNPACK pack it once; trainable ones are transposed on the
   * tape every time so their gradients flow.
   */
  private transposed(weight: tf.Tensor): tf.Tensor {
    const frozen = !(weight instanceof tf.Variable) || !weight.trainable;
    if (!frozen || !this.isParam(weight)) return tf.transpose(weight);
    const hit = this.transposeCache.get(weight);
    if (hit && hit.dataId === weight.dataId && !hit.value.isDisposed) return hit.value;
    hit?.value.dispose();
    const value = tf.keep(tf.transpose(weight));
    this.transposeCache.set(weight, { dataId: weight.dataId, value });
    return value;
  }
  private isParam(t: tf.Tensor): boolean {
    this.paramSet ??= new Set(this.params.values());
    return this.paramSet.has(t);
  }
  private paramSet: Set<tf.Tensor> | undefined;
  private readonly transposeCache = new WeakMap<tf.Tensor, { dataId: object; value: tf.Tensor }>();

  /** Free cached derived tensors (transposed frozen weights). */
  dispose(): void {
    for (const p of this.params.values()) {
      this.transposeCache.get(p)?.value.dispose();
      this.transposeCache.delete(p);
    }
  }

  sum(x: tf.Tensor, axes: number | readonly number[], keepDims = false): tf.Tensor {
    return tf.sum(x, axesOf(axes), keepDims);
  }
  mean(x: tf.Tensor, axes: number | readonly number[], keepDims = false): tf.Tensor {
    return tf.mean(x, axesOf(axes), keepDims);
  }
  max(x: tf.Tensor, axes: number | readonly number[], keepDims = false): tf.Tensor {
    return tf.max(x, axesOf(axes), keepDims);
  }
  softmax(x: tf.Tensor, axis = -1): tf.Tensor {
    const a = normAxis(axis, x.rank);
    if (a === x.rank - 1) return tf.softmax(x);
    // TF.js only has a last-axis softmax
    const perm = [...Array(x.rank).keys()];
    perm[a] = x.rank - 1;
    perm[x.rank - 1] = a;
    return tf.transpose(tf.softmax(tf.transpose(x, perm)), perm);
  }
  layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
    return tf.tidy(() => {
      const mean = tf.mean(x, -1, true);
      const centred = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centred), -1, true);
      return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
    });
  }

  reshape(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
    return tf.reshape(x, resolveReshape(x.shape, shape));
  }
  transpose(x: tf.Tensor, perm: readonly number[]): tf.Tensor {
    return tf.transpose(x, [...perm]);
  }
  slice(x: tf.Tensor, axis: number, start: number, end?: number): tf.Tensor {
    const a = normAxis(axis, x.rank);
    const n = x.shape[a]!;
    const s = Math.min(Math.max(start < 0 ? start + n : start, 0), n);
    const e = Math.min(Math.max(end === undefined ? n : end < 0 ? end + n : end, s), n);
    const begin = x.shape.map(() => 0);
    const size = [...x.shape];
    begin[a] = s;
    size[a] = e - s;
    return tf.slice(x, begin, size);
  }
  concat(xs: readonly tf.Tensor[], axis: number): tf.Tensor {
    return tf.concat([...xs], axis);
  }
  gather(table: tf.Tensor, indices: tf.Tensor, axis = 0): tf.Tensor {
    const a = normAxis(axis, table.rank);
    // integer tables (lookup constants) need no gradient
    return table.dtype === 'float32' ? gatherWithGrad(table, indices, a) : tf.gather(table, indices.dtype === 'int32' ? indices : tf.cast(indices, 'int32'), a);
  }
  range(x: tf.Tensor, axis: number): tf.Tensor {
    return tf.range(0, x.shape[normAxis(axis, x.rank)]!, 1, 'int32');
  }
  truncateToMultiple(x: tf.Tensor, axis: number, multiple: number): tf.Tensor {
    const a = normAxis(axis, x.rank);
    const n = x.shape[a]!;
    const keep = n - (n % multiple);
    return keep === n ? x : this.slice(x, a, 0, keep);
  }

  conv1d(x: tf.Tensor, weight: tf.Tensor, options: Conv1dOptions = {}): tf.Tensor {
    const groups = options.groups ?? 1;
    const padding = options.padding ?? 0;
    if (x.rank !== 3 || weight.rank !== 3) throw new OpArgumentError(`conv1d wants x [B, T, C] and W [out, in/groups, K], got [${x.shape.join(', ')}] and [${weight.shape.join(', ')}]`);
    const [cout, cinG] = weight.shape as [number, number, number];
    if (x.shape[2] !== cinG * groups || cout % groups !== 0) {
      throw new OpArgumentError(`conv1d: x has ${x.shape[2]} channels, W [${weight.shape.join(', ')}] with ${groups} groups wants ${cinG * groups}`);
    }
    const y = conv1dWithGrad(x as tf.Tensor3D, weight as tf.Tensor3D, groups, padding);
    return options.bias === undefined ? y : tf.add(y, options.bias as tf.Tensor);
  }
}

/**
 * TF.js registers no gradient for comparisons, and backprop through a `where` reaches them; their
 * true gradient is zero, so say so instead of failing.
 */
function comparison(op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, y] = args as [tf.Tensor, tf.Tensor];
    return { value: op(x, y), gradFunc: () => [tf.zerosLike(x), tf.zerosLike(y)] };
  });
  return f(a, b);
}

/**
 * The rows of a [n, k] tensor as n tensors [k]. wasm's Slice copies its whole input out of the heap
 * for every slice, so n plain slices cost n full copies (quadratic in the batch); halving recursively
 * costs about 2 log2(n) of them.
 */
function splitRows(t: tf.Tensor): tf.Tensor[] {
  const n = t.shape[0];
  if (n === 1) return [tf.reshape(t, [t.shape[1]!])];
  if (n === 2) return tf.unstack(t);
  const half = Math.floor(n / 2);
  return [...splitRows(tf.slice(t, [0, 0], [half, -1])), ...splitRows(tf.slice(t, [half, 0], [n - half, -1]))];
}

function swapLast(rank: number): number[] {
  const perm = [...Array(rank).keys()];
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return perm;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** ONNX Reshape semantics: 0 copies the input dim at that position, one -1 is inferred. */
export function resolveReshape(input: readonly number[], shape: readonly number[]): number[] {
  const out = shape.map((d, i) => {
    if (d !== 0) return d;
    if (i >= input.length) throw new OpArgumentError(`reshape: 0 at position ${i} but the input has rank ${input.length}`);
    return input[i]!;
  });
  const inferred = out.filter((d) => d === -1).length;
  if (inferred > 1) throw new OpArgumentError(`reshape: more than one -1 in [${shape.join(', ')}]`);
  const total = input.reduce((a, b) => a * b, 1);
  if (inferred === 1) {
    const known = out.reduce((a, d) => (d === -1 ? a : a * d), 1);
    if (known === 0 || total % known !== 0) throw new OpArgumentError(`reshape: cannot reshape [${input.join(', ')}] to [${shape.join(', ')}]`);
    return out.map((d) => (d === -1 ? total / known : d));
  }
  return out;
}

/**
 * Grouped 1-D convolution, channels-last, PyTorch weight layout. Each group is one tf.conv1d (TF.js
 * has no grouped convolution). Both gradients are themselves forward convolutions, because wasm has
 * no Conv2DBackpropFilter: dX is a full correlation of dY with the flipped, transposed kernel, and
 * dW[k, i, o] = sum_{b,t} xpad[b, t + k, i] dY[b, t, o] is a valid convolution with the channel axis
 * of x as the batch, the batch axis as channels and dY as the filter.
 */
function conv1dWithGrad(x: tf.Tensor3D, weight: tf.Tensor3D, groups: number, padding: number): tf.Tensor3D {
  const [cout, cinG, k] = weight.shape;
  const coutG = cout / groups;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xs = args[0] as tf.Tensor3D;
    const ws = args[1] as tf.Tensor3D;
    const save = args[2] as tf.GradSaveFunc;
    const xpad = padding > 0 ? tf.pad(xs, [[0, 0], [padding, padding], [0, 0]]) : xs;
    const outs: tf.Tensor3D[] = [];
    for (let g = 0; g < groups; g++) {
      const xg = groups === 1 ? xpad : tf.slice(xpad, [0, 0, g * cinG], [-1, -1, cinG]);
      // [out, in, K] -> [K, in, out]
      const wg = tf.transpose(groups === 1 ? ws : tf.slice(ws, [g * coutG, 0, 0], [coutG, -1, -1]), [2, 1, 0]);
      outs.push(tf.conv1d(xg, wg, 1, 'valid'));
    }
    const value = outs.length === 1 ? outs[0]! : tf.concat(outs, 2);
    save([xpad, ws]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xp, w] = saved as [tf.Tensor3D, tf.Tensor3D];
        const dy3 = dy as tf.Tensor3D;
        const tIn = xp.shape[1] - 2 * padding;
        const dxs: tf.Tensor3D[] = [];
        const dws: tf.Tensor3D[] = [];
        for (let g = 0; g < groups; g++) {
          const dyg = groups === 1 ? dy3 : tf.slice(dy3, [0, 0, g * coutG], [-1, -1, coutG]);
          const wg = groups === 1 ? w : tf.slice(w, [g * coutG, 0, 0], [coutG, -1, -1]);
          // dX: [out, in, K] -> flipped over K -> [K, out, in]
          const wFlip = tf.transpose(tf.reverse(wg, 2), [2, 0, 1]);
          const dyPad = tf.pad(dyg, [[0, 0], [k - 1, k - 1], [0, 0]]);
          const dxPad = tf.conv1d(dyPad, wFlip, 1, 'valid');
          dxs.push(padding > 0 ? tf.slice(dxPad, [0, padding, 0], [-1, tIn, -1]) : dxPad);
          // dW: xpad_g as [in, Tpad, B] convolved with dY_g as a [T', B, out] filter -> [in, K, out]
          const xg = groups === 1 ? xp : tf.slice(xp, [0, 0, g * cinG], [-1, -1, cinG]);
          const dwg = tf.conv1d(tf.transpose(xg, [2, 1, 0]), tf.transpose(dyg, [1, 0, 2]), 1, 'valid');
          dws.push(tf.transpose(dwg, [2, 0, 1]));
        }
        return [dxs.length === 1 ? dxs[0]! : tf.concat(dxs, 2), dws.length === 1 ? dws[0]! : tf.concat(dws, 0)];
      },
    };
  });
  return f(x, weight);
}

/**
 * tf.gather whose table gradient is a scatter-add (ScatterNd sums duplicate indices) instead of
 * UnsortedSegmentSum, which the wasm backend lacks. Indices get no gradient.
 */
function gatherWithGrad(table: tf.Tensor, indices: tf.Tensor, axis: number): tf.Tensor {
  const idx = indices.dtype === 'int32' ? indices : tf.cast(indices, 'int32');
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[1] as tf.GradSaveFunc;
    save([idx]);
    return {
      value: tf.gather(args[0] as tf.Tensor, idx, axis),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const ix = saved[0]!;
        const shape = table.shape;
        const pre = shape.slice(0, axis);
        const post = shape.slice(axis + 1);
        const n = shape[axis]!;
        const ir = ix.rank;
        // dy: pre + indices + post -> indices + pre + post
        const perm = [...range(ir).map((i) => pre.length + i), ...range(pre.length), ...range(post.length).map((i) => pre.length + ir + i)];
        const rest = [...pre, ...post].reduce((a, b) => a * b, 1);
        const updates = tf.reshape(tf.transpose(dy, perm), [ix.size, rest]);
        const flat = tf.scatterND(tf.reshape(ix, [ix.size, 1]), updates, [n, rest]);
        // [n, pre, post] -> pre + [n] + post
        const back = tf.reshape(flat, [n, ...pre, ...post]);
        const inv = [...range(pre.length).map((i) => i + 1), 0, ...range(post.length).map((i) => pre.length + 1 + i)];
        return [tf.transpose(back, inv)];
      },
    };
  });
  return f(table);
}

function range(n: number): number[] {
  return [...Array(n).keys()];
}

/** Seeded float stream (mulberry32 + Box-Muller): the same seed gives the same fresh model everywhere. */
export class SeededRandom {
  private state: number;
  private spare: number | undefined;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function hashSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** PyTorch's fan computation (torch.nn.init._calculate_fan_in_and_fan_out). */
function fans(shape: readonly number[]): [number, number] {
  if (shape.length < 2) return [shape[0] ?? 1, shape[0] ?? 1];
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return [shape[1]! * receptive, shape[0]! * receptive];
}

/** Values of a fresh parameter, drawn from `rng` as its ParamInit says. */
export function initParamData(spec: ParamSpec, rng: SeededRandom): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  const init: ParamInit = spec.init;
  switch (init.kind) {
    case 'zeros':
      break;
    case 'ones':
      out.fill(1);
      break;
    case 'constant':
      out.fill(init.value);
      break;
    case 'normal':
      for (let i = 0; i < size; i++) out[i] = rng.normal() * init.std;
      break;
    case 'uniform':
      for (let i = 0; i < size; i++) out[i] = (rng.next() * 2 - 1) * init.bound;
      break;
    case 'xavierUniform': {
      const [fanIn, fanOut] = fans(spec.shape);
      const bound = (init.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) out[i] = (rng.next() * 2 - 1) * bound;
      break;
    }
  }
  return out;
}

export interface CreateTfParamsOptions {
  /** Values that replace the fresh init (e.g. a backbone's loadWeights result). Shapes must match the specs. */
  loaded?: ReadonlyMap<string, TensorData>;
  /** Seed of the fresh init. Default 0. */
  seed?: number;
  /** Make tf.Variables (trainable, default) or plain constant tensors (inference). */
  trainable?: boolean;
}

/**
 * One tf.Variable per ParamSpec: loaded data where given, else the spec's seeded init. The result
 * feeds `new TfOps(params)`; dispose the tensors when the model is dropped.
 */
export function createTfParams(specs: readonly ParamSpec[], options: CreateTfParamsOptions = {}): Map<string, tf.Variable> {
  const seed = options.seed ?? 0;
  const params = new Map<string, tf.Variable>();
  for (const spec of specs) {
    const loaded = options.loaded?.get(spec.name);
    let data: Float32Array;
    if (loaded) {
      if (!sameShape(loaded.shape, spec.shape)) throw new ParamShapeError(spec.name, spec.shape, loaded.shape);
      data = loaded.data;
    } else {
      // one stream per name: a parameter's init does not depend on which others were loaded
      data = initParamData(spec, new SeededRandom(hashSeed(seed, spec.name)));
    }
    // the variable shares the temporary's data buffer (ref-counted): while the temporary lives, disposing the variable frees nothing
    const initial = tf.tensor(data, [...spec.shape], 'float32');
    params.set(spec.name, tf.variable(initial, options.trainable ?? true));
    initial.dispose();
  }
  return params;
}

/** A tensor's values as plain data (float32). */
export async function toTensorData(t: tf.Tensor): Promise<TensorData> {
  const data = t.dtype === 'float32' ? await t.data<'float32'>() : Float32Array.from(await t.data());
  return { shape: [...t.shape], data: data };
}

/** Plain data as a float32 tensor. */
export function fromTensorData(d: TensorData): tf.Tensor {
  return tf.tensor(d.data, [...d.shape], 'float32');
}
