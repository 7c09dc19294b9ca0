import { readFileSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs-core';
import { readNpy } from '@anopatch/checkpoint';
import { initBackend, TfOps, createTfParams, type BackendName } from '@anopatch/runtime';
import { loadReferenceJson, loadReferenceNpy, maxAbs, maxAbsDiff } from '@anopatch/test-fixtures';
import { describe, expect, it } from 'vitest';

import { HEAD_PARAM, attentiveStatsPooling, headParamSpecs, poolAndProject } from './head.js';

const headNames = loadReferenceJson<{ name: string; shape: number[]; dtype: string }[]>('head/names.json');
function fixtureParams(): Map<string, tf.Tensor> {
  const m = new Map<string, tf.Tensor>();
  for (const n of headNames) {
    if (n.dtype !== 'float32') continue;
    const a = loadReferenceNpy(`head/${n.name}.npy`);
    m.set(n.name, tf.tensor(a.data as Float32Array, n.shape));
  }
  return m;
}
const trainRef = (name: string) =>
  readNpy(readFileSync(new URL(`../../../../tooling/reference/training/pooling_train/${name}.npy`, import.meta.url)));

/** Fixture README: pooled/embedding atol 1e-5 for a float32 re-implementation; attention weights are < 1. */
const TOL = 1e-5;

describe('attentive statistics pooling + projection vs SpeechBrain (head.pt fixture)', () => {
  for (const backend of ['wasm', 'cpu'] as BackendName[]) {
    it.each(['clip_a', 'clip_b', 'clip_c'])(`${backend}: %s asp_attn, pooled, embedding (inference, running BN stats)`, async (clip) => {
      await initBackend({ prefer: backend, env: {} });
      const params = fixtureParams();
      const ops = new TfOps(params);
      const final = loadReferenceNpy(`${clip}.final.npy`);
      const [P, C] = final.shape as [number, number];
      const x = tf.tensor3d(final.data as Float32Array, [1, P, C]);
      const out = poolAndProject(ops, x, 'asp', { training: false });
      // fixture attention is [D, P]; ours is [B, P, C]
      const attn = tf.transpose(tf.squeeze(out.attention!, [0]));
      expect(maxAbsDiff(attn.dataSync(), loadReferenceNpy(`${clip}.asp_attn.npy`).data as Float32Array)).toBeLessThan(TOL);
      expect(maxAbsDiff(out.pooled.dataSync(), loadReferenceNpy(`${clip}.pooled.npy`).data as Float32Array)).toBeLessThan(TOL);
      expect(maxAbsDiff(out.embedding.dataSync(), loadReferenceNpy(`${clip}.embedding.npy`).data as Float32Array)).toBeLessThan(TOL);
      expect(out.batchStats).toBeUndefined();
      tf.dispose([x, attn, out.pooled, out.attention!, out.embedding, ...params.values()]);
    });
  }

  it('training mode (batch-stat BatchNorm): outputs, every parameter gradient and the input gradient match torch autograd', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const base = fixtureParams();
    const vars = new Map<string, tf.Variable>([...base].map(([k, v]) => [k, tf.variable(v, !k.includes('running'))]));
    const ops = new TfOps(vars);
    const input = trainRef('input');
    const x = tf.tensor(input.data as Float32Array, input.shape);
    const probe = tf.tensor(trainRef('probe').data as Float32Array, [2, 16]);
    let stats: { mean: tf.Tensor; variance: tf.Tensor } | undefined;
    const trainable = headParamSpecs({ pooling: 'asp', channels: 64, attentionChannels: 32, embedDim: 16 })
      .map((s) => s.name)
      .filter((n) => !n.includes('running'));
    const f = (xIn: tf.Tensor, ...ps: tf.Tensor[]) => {
      const local = new Map<string, tf.Tensor>([...vars]);
      trainable.forEach((n, i) => local.set(n, ps[i]!));
      const out = poolAndProject(new TfOps(local), xIn, 'asp', { training: true });
      stats = { mean: tf.keep(out.batchStats!.mean), variance: tf.keep(out.batchStats!.variance) };
      return tf.sum(tf.mul(out.embedding, probe));
    };
    const { value, grads } = tf.valueAndGrads(f)([x, ...trainable.map((n) => vars.get(n)!)]);
    const emb = poolAndProject(ops, x, 'asp', { training: true }).embedding;
    expect(maxAbsDiff(emb.dataSync(), trainRef('embedding').data as Float32Array)).toBeLessThan(TOL);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    const gradTol = (ref: ArrayLike<number>) => 1e-4 * Math.max(1, maxAbs(ref));
    const gIn = trainRef('grad.input').data as Float32Array;
    expect(maxAbsDiff(grads[0]!.dataSync(), gIn)).toBeLessThan(gradTol(gIn));
    trainable.forEach((n, i) => {
      const r = trainRef(`grad.${n}`).data as Float32Array;
      expect(maxAbsDiff(grads[i + 1]!.dataSync(), r), n).toBeLessThan(gradTol(r));
    });
    // PyTorch's update with momentum 0.1 and the unbiased batch variance (n = B * P = 192)
    const n = 2 * 96;
    const rm = tf.add(tf.mul(vars.get(HEAD_PARAM.bnRunningMean)!, 0.9), tf.mul(stats!.mean, 0.1));
    const rv = tf.add(tf.mul(vars.get(HEAD_PARAM.bnRunningVar)!, 0.9), tf.mul(stats!.variance, 0.1 * (n / (n - 1))));
    expect(maxAbsDiff(rm.dataSync(), trainRef('running_mean').data as Float32Array)).toBeLessThan(TOL);
    expect(maxAbsDiff(rv.dataSync(), trainRef('running_var').data as Float32Array)).toBeLessThan(TOL);
  });

  it('fresh head params follow the config (cls pooling projects C, asp projects 2C)', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const specs = headParamSpecs({ pooling: 'cls', channels: 8, attentionChannels: 4, embedDim: 3 });
    expect(specs.map((s) => [s.name, s.shape])).toEqual([
      ['fc.weight', [3, 8]],
      ['fc.bias', [3]],
    ]);
    const params = createTfParams(specs, { seed: 1 });
    const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 2);
    const out = poolAndProject(new TfOps(params), x, 'cls', { training: false });
    expect(out.pooled.shape).toEqual([2, 8]);
    const first = tf.reshape(tf.slice(x, [0, 0, 0], [2, 1, 8]), [2, 8]);
    expect(maxAbsDiff(out.pooled.dataSync(), first.dataSync())).toBe(0);
    expect(out.embedding.shape).toEqual([2, 3]);

    const aspSpecs = headParamSpecs({ pooling: 'asp', channels: 8, attentionChannels: 4, embedDim: 3 });
    const asp = attentiveStatsPooling(new TfOps(createTfParams(aspSpecs)), x, { training: true });
    expect(asp.pooled.shape).toEqual([2, 16]);
    expect(asp.batchStats!.mean.shape).toEqual([4]);
  });
});
