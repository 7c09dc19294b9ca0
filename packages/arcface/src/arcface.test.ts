import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '@anopatch/runtime';
import { loadReferenceJson, maxAbs, maxAbsDiff } from '@anopatch/test-fixtures';
import { describe, expect, it } from 'vitest';

import { ArcFaceConfigError, ArcFaceHead, arcFace, type ArcFaceVariant } from './arcface.js';

interface VariantRef {
  cos: number[][];
  logits: number[][];
  loss: number;
  grad_embeddings: number[][];
  grad_W: number[][];
  fallback_mask?: boolean[][];
}
interface ArcRef {
  N: number;
  dim: number;
  C: number;
  s: number;
  m: number;
  labels: number[];
  embeddings: number[][];
  W: number[][];
  paper: VariantRef;
  code_variant: VariantRef;
}

const ref = loadReferenceJson<ArcRef>('arcface.json');
const flat = (rows: number[][]): number[] => rows.flat();

/**
 * float32 vs the float64 torch reference. cos/logits are O(1)/O(s): 1e-5 * s absolute on logits.
 * Gradients are checked relative to their largest entry (1e-4): the float32 round-off of the
 * normalisation is amplified by s = 30 in the softmax.
 */
const TOL = { cos: 2e-6, logits: 1e-4, loss: 1e-4, gradRel: 1e-4 };

const cases: { backend: BackendName; variant: ArcFaceVariant; key: 'paper' | 'code_variant' }[] = [];
for (const backend of ['wasm', 'cpu'] as const) {
  cases.push({ backend, variant: 'paper', key: 'paper' }, { backend, variant: 'easyMarginFalse', key: 'code_variant' });
}

describe('arcFace parity with torch autograd (arcface.json)', () => {
  it.each(cases)('$backend / $variant: cos, logits, loss, d loss / d embeddings, d loss / d W', async ({ backend, variant, key }) => {
    await initBackend({ prefer: backend, env: {} });
    const r = ref[key];
    const emb = tf.tensor2d(flat(ref.embeddings), [ref.N, ref.dim]);
    const W = tf.tensor2d(flat(ref.W), [ref.dim, ref.C]);
    const opts = { scale: ref.s, margin: ref.m, variant };
    const out = arcFace(emb, W, ref.labels, opts);
    expect(maxAbsDiff(out.cos.dataSync(), flat(r.cos))).toBeLessThan(TOL.cos);
    expect(maxAbsDiff(out.logits.dataSync(), flat(r.logits))).toBeLessThan(TOL.logits);
    expect(Math.abs(out.loss.dataSync()[0]! - r.loss)).toBeLessThan(TOL.loss);

    const [gE, gW] = tf.grads((e: tf.Tensor, w: tf.Tensor) => arcFace(e as tf.Tensor2D, w as tf.Tensor2D, ref.labels, opts).loss)([emb, W]);
    const refGE = flat(r.grad_embeddings);
    const refGW = flat(r.grad_W);
    expect(maxAbsDiff(gE!.dataSync(), refGE) / maxAbs(refGE)).toBeLessThan(TOL.gradRel);
    expect(maxAbsDiff(gW!.dataSync(), refGW) / maxAbs(refGW)).toBeLessThan(TOL.gradRel);
    tf.dispose([emb, W, out.cos, out.logits, out.loss, gE!, gW!]);
  });

  it('the two variants differ exactly where the fallback applies (sample 0: theta_y + m > pi)', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const emb = tf.tensor2d(flat(ref.embeddings), [ref.N, ref.dim]);
    const W = tf.tensor2d(flat(ref.W), [ref.dim, ref.C]);
    const a = arcFace(emb, W, ref.labels, { scale: ref.s, margin: ref.m, variant: 'paper' }).logits.arraySync();
    const b = arcFace(emb, W, ref.labels, { scale: ref.s, margin: ref.m, variant: 'easyMarginFalse' }).logits.arraySync();
    const mask = ref.code_variant.fallback_mask!;
    expect(mask[0]![ref.labels[0]!]).toBe(true);
    for (let i = 0; i < ref.N; i++) {
      const y = ref.labels[i]!;
      const d = Math.abs(a[i]![y]! - b[i]![y]!);
      if (mask[i]![y]) expect(d).toBeGreaterThan(1);
      else expect(d).toBeLessThan(1e-4);
    }
  });
});

describe('ArcFaceHead', () => {
  it('holds W [embedDim, numClasses] as a trainable variable and reproduces the reference loss', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const head = new ArcFaceHead({ embedDim: ref.dim, numClasses: ref.C, scale: ref.s, margin: ref.m }, { weight: new Float32Array(flat(ref.W)) });
    expect(head.weight.shape).toEqual([ref.dim, ref.C]);
    expect(head.weight.trainable).toBe(true);
    const emb = tf.tensor2d(flat(ref.embeddings), [ref.N, ref.dim]);
    const loss = head.loss(emb, ref.labels);
    expect(Math.abs(loss.dataSync()[0]! - ref.paper.loss)).toBeLessThan(TOL.loss);
    // nearest centre = argmax of the reference cosines
    const expected = ref.paper.cos.map((row) => row.indexOf(Math.max(...row)));
    expect(Array.from(head.predict(emb))).toEqual(expected);
    tf.dispose([emb, loss]);
    head.dispose();
  });

  it('a few SGD steps on W alone pull same-class embeddings to their centre (loss decreases)', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const head = new ArcFaceHead({ embedDim: ref.dim, numClasses: ref.C, scale: ref.s, margin: 0.2 }, { seed: 3 });
    const emb = tf.tensor2d(flat(ref.embeddings), [ref.N, ref.dim]);
    const lossOf = () => tf.tidy(() => head.loss(emb, ref.labels).dataSync()[0]!);
    const first = lossOf();
    const opt = tf.train.sgd(0.05);
    for (let i = 0; i < 30; i++) opt.minimize(() => head.loss(emb, ref.labels), false, [head.weight]);
    expect(lossOf()).toBeLessThan(first * 0.5);
    opt.dispose();
    emb.dispose();
    head.dispose();
  });

  it('rejects labels out of range and mismatched sizes with a typed error', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const emb = tf.zeros<tf.Rank.R2>([2, 4]);
    const W = tf.ones<tf.Rank.R2>([4, 3]);
    expect(() => arcFace(emb, W, [0, 3])).toThrow(ArcFaceConfigError);
    expect(() => arcFace(emb, W, [0])).toThrow(/1 labels for 2 embeddings/);
    expect(() => arcFace(emb, tf.ones<tf.Rank.R2>([5, 3]), [0, 1])).toThrow(/4 dims but W is \[5, 3\]/);
    expect(() => new ArcFaceHead({ embedDim: 4, numClasses: 1 })).toThrow(ArcFaceConfigError);
    // a zero embedding gives zero cosines, not NaN
    const out = arcFace(emb, W, [0, 1]);
    expect(Array.from(out.cos.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Number.isFinite(out.loss.dataSync()[0])).toBe(true);
  });
});
