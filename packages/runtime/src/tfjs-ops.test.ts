import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';

import { initBackend, type BackendName } from './backend.js';
import type { ParamSpec } from './ops.js';
import { createTfParams, MissingParamError, ParamShapeError, resolveReshape, SeededRandom, TfOps } from './tfjs-ops.js';

function rand(rng: SeededRandom, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}
const vals = (t: tf.Tensor): number[] => Array.from(t.dataSync());
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Naive grouped conv1d, channels-last x [B,T,Cin], W [Cout, Cin/g, K] (PyTorch), zero padding p. */
function naiveConv(x: Float32Array, xs: number[], w: Float32Array, ws: number[], groups: number, p: number) {
  const [b, t, cin] = xs as [number, number, number];
  const [cout, cinG, k] = ws as [number, number, number];
  const tOut = t + 2 * p - k + 1;
  const coutG = cout / groups;
  const y = new Float64Array(b * tOut * cout);
  for (let bi = 0; bi < b; bi++)
    for (let to = 0; to < tOut; to++)
      for (let o = 0; o < cout; o++) {
        const g = Math.floor(o / coutG);
        let s = 0;
        for (let i = 0; i < cinG; i++)
          for (let kk = 0; kk < k; kk++) {
            const ti = to + kk - p;
            if (ti < 0 || ti >= t) continue;
            s += x[(bi * t + ti) * cin + g * cinG + i]! * w[(o * cinG + i) * k + kk]!;
          }
        y[(bi * tOut + to) * cout + o] = s;
      }
  return { y, tOut };
}
/** Gradients of sum(conv(x, W) * r) by the chain rule written out naively. */
function naiveConvGrads(x: Float32Array, xs: number[], w: Float32Array, ws: number[], groups: number, p: number, r: Float32Array) {
  const [b, t, cin] = xs as [number, number, number];
  const [cout, cinG, k] = ws as [number, number, number];
  const tOut = t + 2 * p - k + 1;
  const coutG = cout / groups;
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let bi = 0; bi < b; bi++)
    for (let to = 0; to < tOut; to++)
      for (let o = 0; o < cout; o++) {
        const g = Math.floor(o / coutG);
        const dy = r[(bi * tOut + to) * cout + o]!;
        for (let i = 0; i < cinG; i++)
          for (let kk = 0; kk < k; kk++) {
            const ti = to + kk - p;
            if (ti < 0 || ti >= t) continue;
            const xi = (bi * t + ti) * cin + g * cinG + i;
            const wi = (o * cinG + i) * k + kk;
            dx[xi]! += dy * w[wi]!;
            dw[wi]! += dy * x[xi]!;
          }
      }
  return { dx, dw };
}

const BACKENDS: BackendName[] = ['wasm', 'cpu'];

describe.each(BACKENDS)('TfOps on %s', (backend) => {
  it('computes grouped conv1d like a naive reference, with both gradients', async () => {
    await initBackend({ prefer: backend, env: {} });
    const rng = new SeededRandom(1);
    for (const [groups, k, p, cin, cout] of [
      [1, 3, 1, 4, 6],
      [4, 4, 2, 8, 8],
      [2, 5, 0, 6, 4],
    ] as const) {
      const xs = [2, 9, cin];
      const ws = [cout, cin / groups, k];
      const x = rand(rng, 2 * 9 * cin);
      const w = rand(rng, cout * (cin / groups) * k);
      const ops = new TfOps(new Map());
      const ref = naiveConv(x, xs, w, ws, groups, p);
      const xt = tf.tensor(x, xs);
      const wt = tf.tensor(w, ws);
      const y = ops.conv1d(xt, wt, { groups, padding: p });
      expect(y.shape).toEqual([2, ref.tOut, cout]);
      expect(maxDiff(vals(y), ref.y)).toBeLessThan(1e-4);

      const r = rand(rng, 2 * ref.tOut * cout);
      const rt = tf.tensor(r, y.shape);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(ops.conv1d(a, b, { groups, padding: p }), rt)));
      const [dx, dw] = g([xt, wt]);
      const want = naiveConvGrads(x, xs, w, ws, groups, p, r);
      expect(maxDiff(vals(dx!), want.dx)).toBeLessThan(1e-4);
      expect(maxDiff(vals(dw!), want.dw)).toBeLessThan(1e-4);

      const bias = tf.tensor1d(rand(rng, cout));
      const yb = ops.conv1d(xt, wt, { groups, padding: p, bias });
      expect(maxDiff(vals(tf.sub(yb, bias)), vals(y))).toBeLessThan(1e-5);
    }
  });

  it('multiplies batched, broadcast and transposed operands like a naive product, with gradients', async () => {
    await initBackend({ prefer: backend, env: {} });
    const ops = new TfOps(new Map());
    const rng = new SeededRandom(4);
    const a = tf.tensor(rand(rng, 2 * 3 * 4 * 5), [2, 3, 4, 5]);
    const b = tf.tensor(rand(rng, 3 * 6 * 5), [3, 6, 5]);
    const av = a.arraySync() as number[][][][];
    const bv = b.arraySync() as number[][][];
    const y = ops.matMul(a, b, { transposeB: true }); // [2, 3, 4, 6]
    expect(y.shape).toEqual([2, 3, 4, 6]);
    const want: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let m = 0; m < 4; m++) for (let n = 0; n < 6; n++) {
      let s = 0;
      for (let k = 0; k < 5; k++) s += av[i]![j]![m]![k]! * bv[j]![n]![k]!;
      want.push(s);
    }
    expect(maxDiff(vals(y), want)).toBeLessThan(1e-5);
    const at = ops.matMul(ops.transpose(a, [0, 1, 3, 2]), b, { transposeA: true, transposeB: true });
    expect(maxDiff(vals(at), want)).toBeLessThan(1e-5);
    const shared = ops.matMul(a, ops.transpose(ops.slice(b, 0, 0, 1), [0, 2, 1]));
    expect(shared.shape).toEqual([2, 3, 4, 6]);
    const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(ops.matMul(p, q, { transposeB: true })))([a, b]);
    // d/da sum(a b^T) = sum over n of b[n, :]; d/db = sum over batch and m of a
    const ref = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.matMul(p, tf.broadcastTo(tf.transpose(q, [0, 2, 1]), [2, 3, 5, 6]))))([a, b]);
    expect(maxDiff(vals(da!), vals(ref[0]!))).toBeLessThan(1e-4);
    expect(maxDiff(vals(db!), vals(ref[1]!))).toBeLessThan(1e-4);
  });

  it('reuses W^T of a frozen weight until the weight changes', async () => {
    await initBackend({ prefer: backend, env: {} });
    const w = tf.variable(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), false);
    const ops = new TfOps(new Map([['w', w]]));
    const x = tf.tensor2d([1, 0, 1], [1, 3]);
    expect(vals(tf.tidy(() => ops.linear(x, ops.param('w'))))).toEqual([4, 10]);
    expect(vals(tf.tidy(() => ops.linear(x, ops.param('w'))))).toEqual([4, 10]);
    w.assign(tf.tensor2d([1, 1, 1, 2, 2, 2], [2, 3]));
    expect(vals(tf.tidy(() => ops.linear(x, ops.param('w'))))).toEqual([2, 4]);
    ops.dispose();
  });

  it('gathers rows with a scatter-add gradient that sums repeated indices', async () => {
    await initBackend({ prefer: backend, env: {} });
    const ops = new TfOps(new Map());
    const table = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    const idx = tf.tensor2d([0, 3, 3, 1, 0, 0], [2, 3], 'int32');
    const out = ops.gather(table, idx, 0);
    expect(out.shape).toEqual([2, 3, 2]);
    expect(vals(out)).toEqual([1, 2, 7, 8, 7, 8, 3, 4, 1, 2, 1, 2]);
    const w = tf.tensor3d([1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60], [2, 3, 2]);
    const dt = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ops.gather(t, idx, 0), w)))(table);
    // row 0 picked at (0,0),(1,1),(1,2); row 1 at (1,0); row 3 at (0,1),(0,2)
    expect(vals(dt)).toEqual([1 + 5 + 6, 10 + 50 + 60, 4, 40, 0, 0, 2 + 3, 20 + 30]);
    // along axis 1: table [2, 4] -> [2, 3]
    const t2 = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
    const i1 = tf.tensor1d([3, 0, 3], 'int32');
    expect(vals(ops.gather(t2, i1, 1))).toEqual([4, 1, 4, 8, 5, 8]);
    const d2 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ops.gather(t, i1, 1), tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]))))(t2);
    expect(vals(d2)).toEqual([2, 0, 0, 4, 5, 0, 0, 10]);
  });

  it('computes elementwise, reduction and shape ops with NumPy semantics', async () => {
    await initBackend({ prefer: backend, env: {} });
    const ops = new TfOps(new Map());
    const a = ops.constant([1, -2, 3, -4, 5, -6], [2, 3]);
    const b = ops.constant([1, 2, 3], [3]);
    expect(vals(ops.add(a, b))).toEqual([2, 0, 6, -3, 7, -3]);
    expect(vals(ops.sub(a, b))).toEqual([0, -4, 0, -5, 3, -9]);
    expect(vals(ops.mul(a, b))).toEqual([1, -4, 9, -4, 10, -18]);
    expect(vals(ops.div(a, b))).toEqual([1, -1, 1, -4, 2.5, -2]);
    expect(vals(ops.maximum(a, b))).toEqual([1, 2, 3, 1, 5, 3]);
    expect(vals(ops.minimum(a, b))).toEqual([1, -2, 3, -4, 2, -6]);
    expect(vals(ops.neg(a))).toEqual([-1, 2, -3, 4, -5, 6]);
    expect(vals(ops.abs(a))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(vals(ops.relu(a))).toEqual([1, 0, 3, 0, 5, 0]);
    expect(vals(ops.floor(ops.constant([1.5, -1.5], [2])))).toEqual([1, -2]);
    expect(vals(ops.pow(b, 2))).toEqual([1, 4, 9]);
    // relative: wasm's expf/erf approximations are a few float32 ulps off
    const close = (t: tf.Tensor, want: number[]) => {
      const got = vals(t);
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(want[i]!))));
    };
    close(ops.exp(b), [Math.E, Math.exp(2), Math.exp(3)]);
    close(ops.log(b), [0, Math.log(2), Math.log(3)]);
    close(ops.sqrt(b), [1, Math.SQRT2, Math.sqrt(3)]);
    close(ops.tanh(b), [Math.tanh(1), Math.tanh(2), Math.tanh(3)]);
    close(ops.sigmoid(b), [1, 2, 3].map((v) => 1 / (1 + Math.exp(-v))));
    // erf(0.5) = 0.5204998778, erf(-1.5) = -0.9661051465; GELU(x) = x Phi(x)
    close(ops.erf(ops.constant([0.5, -1.5], [2])), [0.5204998778, -0.9661051465]);
    close(ops.gelu(ops.constant([0.5, -1.5, 3], [3])), [0.3457312306, -0.1002108015, 2.9959503062]);
    expect(vals(ops.cast(ops.greater(a, b), 'float32'))).toEqual([0, 0, 0, 0, 1, 0]);
    expect(vals(ops.cast(ops.less(a, b), 'int32'))).toEqual([0, 1, 0, 1, 0, 1]);
    expect(vals(ops.where(ops.greater(a, b), a, ops.scalar(0)))).toEqual([0, 0, 0, 0, 5, 0]);
    expect(vals(ops.sum(a, 1))).toEqual([2, -5]);
    expect(ops.sum(a, [0, 1], true).shape).toEqual([1, 1]);
    expect(vals(ops.mean(a, 0))).toEqual([-1.5, 1.5, -1.5]);
    expect(vals(ops.max(a, -1))).toEqual([3, 5]);
    const sm = ops.softmax(ops.constant([0, Math.log(3), 1, 1], [2, 2]), 0);
    close(sm, [1 / (1 + Math.E), 3 / (3 + Math.E), Math.E / (1 + Math.E), Math.E / (3 + Math.E)]);
    close(ops.softmax(ops.constant([0, Math.log(3)], [1, 2])), [0.25, 0.75]);
    const ln = ops.layerNorm(ops.constant([1, 2, 3, 4], [1, 4]), ops.constant([1, 1, 2, 2], [4]), ops.constant([0, 0, 0, 1], [4]), 0);
    const s = Math.sqrt(1.25);
    close(ln, [-1.5 / s, -0.5 / s, 1 / s, 3 / s + 1]);
    expect(ops.reshape(ops.constant(new Float32Array(24), [2, 3, 4]), [0, -1, 2]).shape).toEqual([2, 6, 2]);
    expect(ops.transpose(a, [1, 0]).shape).toEqual([3, 2]);
    expect(vals(ops.slice(a, 1, 1))).toEqual([-2, 3, 5, -6]);
    expect(vals(ops.slice(a, 1, 0, -1))).toEqual([1, -2, -4, 5]);
    expect(vals(ops.concat([b, b], 0))).toEqual([1, 2, 3, 1, 2, 3]);
    const r = ops.range(a, 1);
    expect(r.dtype).toBe('int32');
    expect(vals(r)).toEqual([0, 1, 2]);
    expect(ops.truncateToMultiple(ops.constant(new Float32Array(2 * 35), [2, 35]), 1, 16).shape).toEqual([2, 32]);
    expect(vals(ops.matMul(a, ops.constant([1, 0, 1], [3, 1])))).toEqual([4, -10]);
    expect(vals(ops.matMul(a, a, { transposeB: true }))).toEqual([14, -32, -32, 77]);
    // linear with W [out, in] on a rank-3 input
    const x3 = ops.constant([1, 2, 3, 4, 5, 6], [1, 2, 3]);
    const lin = ops.linear(x3, ops.constant([1, 0, 0, 0, 1, 1], [2, 3]), ops.constant([10, 20], [2]));
    expect(lin.shape).toEqual([1, 2, 2]);
    expect(vals(lin)).toEqual([11, 25, 14, 31]);
    expect(vals(ops.dropout(b, 0))).toEqual([1, 2, 3]);
    const before = tf.memory().numTensors;
    const kept = ops.scope(() => ops.add(ops.mul(b, b), ops.scalar(1)));
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(vals(kept)).toEqual([2, 5, 10]);
    expect(vals(tf.grad((t: tf.Tensor) => tf.sum(ops.scope(() => ops.mul(t, t))))(b))).toEqual([2, 4, 6]);
    expect(vals(ops.gradScale(b, 0.6))).toEqual([1, 2, 3]);
    expect(vals(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ops.gradScale(t, 0.5), t)))(b))).toEqual([1.5, 3, 4.5]);
    const dropped = vals(ops.dropout(ops.constant(new Float32Array(1000).fill(1), [1000]), 0.5));
    expect(dropped.every((v) => v === 0 || Math.abs(v - 2) < 1e-6)).toBe(true);
    expect(dropped.filter((v) => v === 0).length).toBeGreaterThan(350);
    expect(dropped.filter((v) => v === 0).length).toBeLessThan(650);
  });

  it('takes gradients through every differentiable op', async () => {
    await initBackend({ prefer: backend, env: {} });
    const specs: ParamSpec[] = [
      { name: 'w', shape: [4, 3], init: { kind: 'xavierUniform' } },
      { name: 'g', shape: [4], init: { kind: 'ones' } },
      { name: 'b', shape: [4], init: { kind: 'zeros' } },
      { name: 'table', shape: [5, 4], init: { kind: 'normal', std: 1 } },
      { name: 'conv', shape: [4, 2, 3], init: { kind: 'uniform', bound: 0.5 } },
    ];
    const params = createTfParams(specs, { seed: 3 });
    const ops = new TfOps(params);
    const x = ops.constant(Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 3]);
    const loss = () => {
      let h = ops.linear(x, ops.param('w'));
      h = ops.layerNorm(h, ops.param('g'), ops.param('b'), 1e-5);
      h = ops.add(h, ops.gather(ops.param('table'), ops.range(h, 1), 0));
      h = ops.gelu(ops.conv1d(h, ops.param('conv'), { groups: 2, padding: 1 }));
      const att = ops.softmax(ops.matMul(h, h, { transposeB: true }), -1);
      h = ops.matMul(att, h);
      h = ops.mul(ops.sigmoid(h), ops.tanh(ops.sqrt(ops.add(ops.abs(h), ops.scalar(1)))));
      h = ops.where(ops.greater(h, ops.scalar(0.3)), h, ops.exp(ops.neg(h)));
      h = ops.concat([ops.slice(h, 1, 0, 2), ops.transpose(ops.reshape(ops.slice(h, 1, 2), [0, -1, 2]), [0, 2, 1])], 2);
      return tf.sum<tf.Scalar>(ops.add(ops.max(h, -1), ops.mean(ops.log(ops.add(ops.pow(h, 2), ops.scalar(1))), -1)));
    };
    const { value, grads } = tf.variableGrads(loss);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const spec of specs) {
      const gr = grads[params.get(spec.name)!.name]!;
      expect(gr.shape).toEqual(spec.shape);
      const v = vals(gr);
      expect(v.every(Number.isFinite)).toBe(true);
      expect(v.some((e) => e !== 0)).toBe(true);
    }
    // finite-difference check on one weight entry
    const w = params.get('w')!;
    const base = w.clone();
    const eps = 1e-2;
    const bump = (d: number) => {
      const arr = base.dataSync().slice();
      arr[5]! += d;
      w.assign(tf.tensor(arr, w.shape));
      return loss().dataSync()[0]!;
    };
    const fd = (bump(eps) - bump(-eps)) / (2 * eps);
    w.assign(base);
    expect(Math.abs(fd - grads[w.name]!.dataSync()[5]!)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
  });
});

describe('parameters', () => {
  afterAll(() => tf.disposeVariables());
  it('creates seeded parameters, takes loaded data, and names what is missing or mis-shaped', async () => {
    await initBackend({ prefer: 'cpu', env: {} });
    const specs: ParamSpec[] = [
      { name: 'a', shape: [2, 3], init: { kind: 'normal', std: 0.02 } },
      { name: 'b', shape: [3], init: { kind: 'constant', value: 0.5 } },
    ];
    const p1 = createTfParams(specs, { seed: 7 });
    const p2 = createTfParams(specs, { seed: 7 });
    expect(vals(p1.get('a')!)).toEqual(vals(p2.get('a')!));
    expect(vals(p1.get('b')!)).toEqual([0.5, 0.5, 0.5]);
    const p3 = createTfParams(specs, { seed: 7, loaded: new Map([['b', { shape: [3], data: new Float32Array([1, 2, 3]) }]]) });
    expect(vals(p3.get('a')!)).toEqual(vals(p1.get('a')!));
    expect(vals(p3.get('b')!)).toEqual([1, 2, 3]);
    expect(() => createTfParams(specs, { loaded: new Map([['a', { shape: [3, 2], data: new Float32Array(6) }]]) })).toThrow(ParamShapeError);
    expect(() => new TfOps(p1).param('c')).toThrow(MissingParamError);
    expect(() => new TfOps(p1).param('c')).toThrow(/'c'/);
    expect(new TfOps(p1).paramShape('a')).toEqual([2, 3]);
  });

  it('leaves tf.memory() at its baseline once the parameters are disposed (no hidden copy per variable)', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const specs: ParamSpec[] = [
      { name: 'w', shape: [16, 8], init: { kind: 'normal', std: 0.02 } },
      { name: 'b', shape: [8], init: { kind: 'zeros' } },
    ];
    const before = tf.memory();
    const params = createTfParams(specs, { seed: 3, loaded: new Map([['b', { shape: [8], data: new Float32Array(8).fill(1) }]]) });
    // exactly one tensor and one buffer per parameter while the model lives
    expect(tf.memory().numTensors - before.numTensors).toBe(2);
    expect(tf.memory().numBytes - before.numBytes).toBe(4 * (16 * 8 + 8));
    for (const v of params.values()) v.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });

  it('draws dropout masks from the caller seeded source: the same source state gives the same mask', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const ops = new TfOps(new Map());
    const x = tf.ones([4, 64]);
    const maskWith = (seed: number) => {
      const rng = new SeededRandom(seed);
      ops.random = () => rng.next();
      return Array.from(tf.tidy(() => ops.dropout(x, 0.25)).dataSync());
    };
    const a = maskWith(5);
    const b = maskWith(5);
    const c = maskWith(6);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    // inverted dropout: survivors are scaled by 1 / (1 - rate), the rest are zero
    expect(new Set(a)).toEqual(new Set([0, Math.fround(1 / 0.75)]));
    const zeros = a.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(0.1 * a.length);
    expect(zeros).toBeLessThan(0.4 * a.length);
    x.dispose();
  });

  it('resolves ONNX-style reshape targets', () => {
    expect(resolveReshape([2, 3, 4], [0, -1])).toEqual([2, 12]);
    expect(resolveReshape([2, 3, 4], [-1, 0, 2, 2])).toEqual([2, 3, 2, 2]);
    expect(() => resolveReshape([2, 3], [-1, -1])).toThrow(/more than one -1/);
    expect(() => resolveReshape([2, 3], [4, -1])).toThrow(/cannot reshape/);
  });
});
