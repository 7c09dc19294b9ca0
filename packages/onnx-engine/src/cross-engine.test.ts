import { fromTensorData, initBackend, TfOps, toTensorData, type Ops, type TensorData } from '@anopatch/runtime';
import { maxAbsDiff, relToMax } from '@anopatch/test-fixtures';
import { beforeAll, describe, expect, it } from 'vitest';

import { runOnnx, seeded } from './__tests__/run-onnx.js';
import { buildOnnxModel } from './build.js';
import { INT8_WEIGHT_MAX } from './graph.js';
import { OnnxSession } from './session.js';

/**
 * A hand-written post-LN transformer block in the style of BEATs (grouped positional conv, gated
 * T5 relative-position bias computed in-graph from `range`, deep-norm residuals, exact GELU FFN),
 * written once against `Ops` and run through both lowerings on the same inputs.
 */
const D = 16;
const H = 2;
const HD = D / H;
const FFN = 32;
const K = 4;
const GROUPS = 4;
const BUCKETS = 32;
const MAX_DIST = 40;

function miniWeights(): Map<string, TensorData> {
  const w = new Map<string, TensorData>();
  let seed = 100;
  const add = (name: string, shape: number[], scale: number) => w.set(name, { shape, data: seeded(shape.reduce((p, d) => p * d, 1), seed++, scale) });
  add('pos.w', [D, D / GROUPS, K], 0.3);
  add('pos.b', [D], 0.1);
  add('ln0.g', [D], 1);
  add('ln0.b', [D], 0.1);
  for (const p of ['q', 'k', 'v', 'o']) {
    add(`${p}.w`, [D, D], 0.4);
    add(`${p}.b`, [D], 0.1);
  }
  add('grep.w', [8, HD], 0.5);
  add('grep.b', [8], 0.1);
  add('grep_a', [1, H, 1, 1], 1);
  add('relbias', [BUCKETS, H], 0.5);
  add('ln1.g', [D], 1);
  add('ln1.b', [D], 0.1);
  add('fc1.w', [FFN, D], 0.3);
  add('fc1.b', [FFN], 0.1);
  add('fc2.w', [D, FFN], 0.3);
  add('fc2.b', [D], 0.1);
  add('ln2.g', [D], 1);
  add('ln2.b', [D], 0.1);
  return w;
}

function relBucket<T>(ops: Ops<T>, x: T): T {
  const pos = ops.range(x, 1);
  const rel = ops.sub(ops.reshape(pos, [1, -1]), ops.reshape(pos, [-1, 1])); // key - query
  const half = BUCKETS / 2;
  const exact = half / 2;
  const side = ops.mul(ops.cast(ops.greater(rel, ops.scalar(0, 'int32')), 'int32'), ops.scalar(half, 'int32'));
  const r = ops.abs(rel);
  const rf = ops.maximum(ops.cast(r, 'float32'), ops.scalar(1));
  const large = ops.add(
    ops.scalar(exact, 'int32'),
    ops.cast(ops.floor(ops.mul(ops.div(ops.log(ops.div(rf, ops.scalar(exact))), ops.scalar(Math.log(MAX_DIST / exact))), ops.scalar(half - exact))), 'int32'),
  );
  const clipped = ops.minimum(large, ops.scalar(half - 1, 'int32'));
  return ops.add(side, ops.where(ops.less(r, ops.scalar(exact, 'int32')), r, clipped));
}

function miniBlock<T>(ops: Ops<T>, input: T): T {
  const p = (n: string) => ops.param(n);
  // positional conv: K even, so drop the last frame (SamePad)
  const conv = ops.conv1d(input, p('pos.w'), { groups: GROUPS, padding: K / 2, bias: p('pos.b') });
  let x = ops.add(input, ops.gelu(ops.slice(conv, 1, 0, -1)));
  x = ops.layerNorm(x, p('ln0.g'), p('ln0.b'), 1e-5);

  const heads = (t: T) => ops.transpose(ops.reshape(t, [0, 0, H, HD]), [0, 2, 1, 3]); // [B,H,T,hd]
  const qRaw = heads(ops.linear(x, p('q.w'), p('q.b')));
  const k = heads(ops.linear(x, p('k.w'), p('k.b')));
  const v = heads(ops.linear(x, p('v.w'), p('v.b')));
  let scores = ops.matMul(ops.mul(qRaw, ops.scalar(HD ** -0.5)), k, { transposeB: true });
  scores = ops.sub(scores, ops.max(scores, -1, true));
  const bias = ops.transpose(ops.gather(p('relbias'), relBucket(ops, x), 0), [2, 0, 1]); // [H,T,T]
  const g = ops.sigmoid(ops.sum(ops.reshape(ops.linear(qRaw, p('grep.w'), p('grep.b')), [0, 0, 0, 2, 4]), -1));
  const ga = ops.slice(g, -1, 0, 1);
  const gb = ops.slice(g, -1, 1, 2);
  const gate = ops.add(ops.mul(ga, ops.sub(ops.mul(gb, p('grep_a')), ops.scalar(1))), ops.scalar(2));
  scores = ops.add(scores, ops.mul(gate, bias));
  const attn = ops.matMul(ops.softmax(scores, -1), v);
  const merged = ops.reshape(ops.transpose(attn, [0, 2, 1, 3]), [0, 0, D]);
  const alpha = ops.scalar(Math.pow(2, 0.25));
  x = ops.layerNorm(ops.add(ops.mul(x, alpha), ops.linear(merged, p('o.w'), p('o.b'))), p('ln1.g'), p('ln1.b'), 1e-5);
  const ff = ops.linear(ops.gelu(ops.linear(x, p('fc1.w'), p('fc1.b'))), p('fc2.w'), p('fc2.b'));
  x = ops.layerNorm(ops.add(ops.mul(x, alpha), ff), p('ln2.g'), p('ln2.b'), 1e-5);
  // a pooled summary exercises mean / sqrt / pow / exp / tanh / relu / concat as well
  const mean = ops.mean(x, 1, true);
  const std = ops.sqrt(ops.maximum(ops.mean(ops.pow(ops.sub(x, mean), 2), 1, true), ops.scalar(1e-12)));
  const w = ops.softmax(ops.tanh(ops.relu(x)), 1);
  const wm = ops.sum(ops.mul(w, ops.exp(ops.neg(ops.abs(x)))), 1, true);
  return ops.concat([x, ops.add(ops.mul(mean, ops.scalar(0)), ops.concat([std, wm], 1))], 1);
}

describe('one model definition, two lowerings', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'cpu' });
  });

  for (const [batch, frames] of [
    [1, 7],
    [2, 50],
  ] as const) {
    it(`mini BEATs-style block agrees between TF.js and ONNX Runtime (B=${batch}, T=${frames}; tolerance 1e-5 relative to max)`, async () => {
      const weights = miniWeights();
      const x = seeded(batch * frames * D, 7 + frames, 1.5);
      const tfOps = new TfOps(new Map([...weights].map(([n, t]) => [n, fromTensorData(t)])));
      const tfIn = fromTensorData({ shape: [batch, frames, D], data: x });
      const tfOut = miniBlock(tfOps, tfIn);
      const want = await toTensorData(tfOut);
      tfOut.dispose();
      tfIn.dispose();
      // one exported graph serves every length: the time axis is dynamic
      const got = await runOnnx([{ name: 'x', shape: ['batch', 'frames', D], value: { shape: [batch, frames, D], data: x } }], (ops, [v]) => miniBlock(ops, v!), weights);
      expect(got.shape).toEqual(want.shape);
      expect(got.shape).toEqual([batch, frames + 2, D]);
      expect(relToMax(got.data, want.data)).toBeLessThan(1e-5);
      expect(maxAbsDiff(got.data, want.data)).toBeLessThan(1e-4);
    });
  }
});

describe('int8 linear layers', () => {
  it('a quantised linear equals the DynamicQuantizeLinear / per-channel int8 arithmetic exactly (1e-5 relative to max)', async () => {
    const n = 5;
    const inn = 64;
    const out = 32;
    const x = seeded(n * inn, 31, 2);
    const w = seeded(out * inn, 32, 0.3);
    const weights = new Map([['fc.weight', { shape: [out, inn], data: w }]]);
    const builder = buildOnnxModel({
      weights,
      inputs: [{ name: 'x', shape: [1, 't', inn] }],
      linearPrecision: 'int8',
      minQuantizedFeatures: 32,
      forward: (ops, [v]) => ({ y: ops.linear(v!, ops.param('fc.weight')) }),
    });
    const session = await OnnxSession.create(builder.toBytes(), { threads: 1, executionProviders: ['cpu'] });
    const got = (await session.run({ x: { shape: [1, n, inn], data: x } })).y!;
    await session.release();
    // ONNX DynamicQuantizeLinear: uint8, range widened to include 0, round half to even
    const rne = (v: number) => {
      const r = Math.round(v);
      return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
    };
    const lo = Math.min(0, ...x);
    const hi = Math.max(0, ...x);
    const xs = Math.fround((hi - lo) / 255);
    const zp = Math.max(0, Math.min(255, rne(-lo / xs)));
    const xq = Array.from(x, (v) => Math.max(0, Math.min(255, rne(Math.fround(v / xs)) + zp)));
    const want: number[] = [];
    for (let r = 0; r < n; r++) for (let o = 0; o < out; o++) {
      let m = 0;
      for (let i = 0; i < inn; i++) m = Math.max(m, Math.abs(w[o * inn + i]!));
      const ws = m / INT8_WEIGHT_MAX;
      let acc = 0;
      for (let i = 0; i < inn; i++) acc += (xq[r * inn + i]! - zp) * Math.round(w[o * inn + i]! / ws);
      want.push(acc * xs * Math.fround(ws));
    }
    expect(relToMax(got.data, want)).toBeLessThan(1e-5);
  });

  it('quantised block stays within 15% (relative to max) of float, and uses int8 matmuls', async () => {
    const weights = miniWeights();
    const x = seeded(2 * 30 * D, 77, 1.5);
    const input = [{ name: 'x', shape: ['batch', 'frames', D] as (string | number)[], value: { shape: [2, 30, D], data: x } }];
    const float = await runOnnx(input, (ops, [v]) => miniBlock(ops, v!), weights);
    const builder = buildOnnxModel({
      weights,
      inputs: input,
      linearPrecision: 'int8',
      minQuantizedFeatures: 16,
      forward: (ops, [v]) => ({ result: miniBlock(ops, v!) }),
    });
    const ops = (builder.toModelProto().graph?.node ?? []).map((n) => n.opType);
    // q, k, v, o, fc1, fc2 are >= 16 wide; grep_linear (8 outputs) stays float
    expect(ops.filter((o) => o === 'MatMulInteger')).toHaveLength(6);
    expect(builder.toModelProto().metadataProps).toContainEqual(expect.objectContaining({ key: 'linear_precision', value: 'int8' }));
    const session = await OnnxSession.create(builder.toBytes(), { threads: 1, executionProviders: ['cpu'] });
    const q = (await session.run({ x: { shape: [2, 30, D], data: x } })).result!;
    await session.release();
    // a 16-wide block quantises coarsely (few terms per dot product); full-size layers do far better
    const rel = relToMax(q.data, float.data);
    expect(rel).toBeLessThan(0.15);
    expect(rel).toBeGreaterThan(0); // it really is a different (quantised) computation
  });
});
